"""A task outside any tasks module: no consumer would ever know it."""

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task  # type: ignore[no-redef]


@task
def stray() -> None:
    pass
