"""Which tasks may run: the ``Task`` objects of the ``tasks`` modules of ``INSTALLED_APPS``, plus those of
the modules named in a backend's ``OPTIONS["modules"]``.

Only modules named by the settings are imported, once; a message's job name is looked up among what was
found, never imported (a message naming ``os.system`` is an unknown job, and goes to the DLQ).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from ....errors import ConfigurationError
from .api import Task

_found: dict[tuple[str, ...], dict[str, Any]] = {}


def task_modules(extra: Iterable[str] = ()) -> list[str]:
    """The modules searched: each installed app's ``tasks`` module that exists, then ``extra``."""
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    names = [f"{app.name}.tasks" for app in apps.get_app_configs() if module_has_submodule(app.module, "tasks")]
    names = [name for name in names if not name.startswith("sqs_lambda.")]  # this package is no app's tasks
    return [*names, *(name for name in extra if name not in names)]


def known_tasks(extra: Iterable[str] = ()) -> dict[str, Any]:
    """Every ``Task`` found, by its module path (what its messages name as the job)."""
    modules = tuple(task_modules(extra))
    if modules not in _found:
        tasks: dict[str, Any] = {}
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ImportError as error:
                raise ConfigurationError(f"django.tasks: cannot import task module {name!r}: {error}") from error
            for value in vars(module).values():
                if isinstance(value, Task) and value.module_path not in tasks:
                    tasks[value.module_path] = value
        _found[modules] = tasks
    return _found[modules]


def forget() -> None:
    """Search again on next use (tests that change ``INSTALLED_APPS`` or the settings)."""
    _found.clear()
