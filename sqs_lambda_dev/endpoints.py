"""Which SQS the operations commands talk to: AWS, the running local runtime, or an endpoint URL.

Never silently the wrong one: ``--local`` fails when no local runtime runs here (it never falls back
to AWS), and when one does run, a command without ``--local``, ``--endpoint-url`` or ``--aws`` is
refused rather than sent to AWS. Every command prints its target on stderr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda import aws, settings
from sqs_lambda.aws import LOCAL_KEY_PAIR, AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.errors import ConfigurationError
from sqs_lambda.producing.queues import QueueRef, is_url, name_of_url
from sqs_lambda.router import unknown_job_reason


@dataclass
class Target:
    """Where a command goes, and the SQS backend configured for it (endpoint, region, credentials)."""

    kind: str  # "local" | "endpoint" | "aws"
    backend: AwsSqs
    endpoint_url: str | None = None
    stage: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    routers: dict[str, Any] | None = None  # local source queue URL -> its function's router (lazily)

    def describe(self) -> str:
        if self.kind == "local":
            return f"local runtime at {self.endpoint_url}" + (f" (stage {self.stage})" if self.stage else "")
        if self.kind == "endpoint":
            return f"endpoint {self.endpoint_url}"
        region = self.backend.region or aws.default_region() or "(the profile's region)"
        profile = f", profile {self.backend.profile}" if self.backend.profile else ""
        return f"AWS, region {region}{profile}"


def _local_backend(url: str, region: str | None) -> AwsSqs:
    """A local engine's backend: its own keys when the environment has some, else dummy ones."""
    own_keys = settings.current().credential_sources[0]
    region = region or aws.default_region() or aws.LOCAL_REGION
    return AwsSqs(config=AwsConfig(endpoint_url=url, region=region, credentials=None if own_keys else LOCAL_KEY_PAIR))


def choose(
    *,
    local: bool = False,
    endpoint_url: str | None = None,
    use_aws: bool = False,
    stage: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    state_dir: Path | str = ".sqs-lambda",
) -> Target:
    """Pick the target from the flags (see the module docstring); its backend is configured for it.
    ``region`` and ``profile`` are the AWS CLI's options (a profile applies to AWS only)."""
    from sqs_lambda_dev.local.runtime import read_state

    if sum([local, bool(endpoint_url), use_aws]) > 1:
        raise ConfigurationError("choose one of --local, --endpoint-url and --aws")
    state = read_state(state_dir)
    settings.expire()
    default_stage = stage or settings.current().stage or None
    if local:
        if state is None:
            raise ConfigurationError(
                "no local runtime is running here: start one with `sqs-lambda local` "
                "(from this directory), or pass --endpoint-url"
            )
        url = state["endpoint_url"]
        backend = _local_backend(url, region or state.get("region"))
        return Target("local", backend, url, stage or state.get("stage"), state)
    if endpoint_url:
        return Target("endpoint", _local_backend(endpoint_url, region), endpoint_url, default_stage)
    environment_endpoint = next((url for url in settings.current().endpoints("sqs") if url), None)
    if environment_endpoint and not use_aws and not profile:
        backend = AwsSqs(config=AwsConfig(endpoint_url=environment_endpoint, region=region))
        return Target("endpoint", backend, environment_endpoint, default_stage)
    if state is not None and not use_aws:
        raise ConfigurationError(
            f"a local runtime is running here ({state['endpoint_url']}): pass --local to "
            "use it, or --aws to use your AWS account"
        )
    return Target("aws", AwsSqs(config=AwsConfig(region=region, profile=profile, aws_only=True)), None, default_stage)


def queue_url(target: Target, name: str) -> str:
    """A queue URL from a URL, a name, a stage-less name, or (locally) a template logical id."""
    if is_url(name):
        return name
    queues = target.state.get("queues", {}) if target.kind == "local" else {}
    if name in queues:
        return str(queues[name])
    references = [QueueRef(name=name)]  # the name as given first, then with the stage's prefix
    if target.stage and not name.startswith(f"{target.stage}-"):
        references.append(QueueRef(name=name, stage=target.stage))
    candidates = [str(reference) for reference in references]
    for reference in references:
        try:
            return reference.resolve(target.backend)
        except ConfigurationError:
            continue
    raise ConfigurationError(
        f"queue not found: {name}" + (f" (also tried {candidates[1]})" if len(candidates) > 1 else "")
    )


def source_queues(target: Target, names: list[str]) -> list[str]:
    """The named queues, or else the template's source queues (local) or the stage's non-DLQ queues."""
    if names:
        return [queue_url(target, name) for name in names]
    if target.kind == "local":
        return [url for logical, url in target.state["queues"].items() if logical not in target.state["dlqs"]]
    return [
        url
        for url in target.backend.list_queues(f"{target.stage}-" if target.stage else "")
        if not name_of_url(url).removesuffix(".fifo").endswith("-dlq")
    ]


def all_queues(target: Target) -> list[str]:
    if target.kind == "local":
        return list(target.state["queues"].values())
    return target.backend.list_queues(f"{target.stage}-" if target.stage else "")


def send_queue(target: Target, queue: str | None, job: str | None = None) -> str:
    """Where ``send`` goes: ``--queue``; else, locally, the queue whose function registers ``job``; else
    ``$SQS_LAMBDA_QUEUE_URL``. Locally, a job no function registers is refused with the known names."""
    if queue:
        return queue_url(target, queue)
    routers = local_routers(target) if job is not None else {}
    consumers = [url for url, router in routers.items() if job in router.jobs]
    if len(consumers) == 1:
        return consumers[0]
    if routers and not consumers:
        assert job is not None
        known = {name for router in routers.values() for name in router.jobs}
        raise ConfigurationError(f"{unknown_job_reason(job, known)} Pass --queue and --force to send it anyway")
    if os.environ.get("SQS_LAMBDA_QUEUE_URL"):
        return os.environ["SQS_LAMBDA_QUEUE_URL"]
    raise ConfigurationError(f"which queue should {job!r} go to? pass --queue" if job else "which queue? pass --queue")


def router_for(target: Target, url: str) -> Any:
    """The router whose function consumes ``url`` in the local runtime's template (for validation), or None."""
    return local_routers(target).get(url)


def local_routers(target: Target) -> dict[str, Any]:
    """Each local source queue's router (its consuming function's), imported once per command; {} when
    the target is not the local runtime, or its template or code cannot be loaded (validation is then the
    producer's own)."""
    if target.kind != "local":
        return {}
    if target.routers is None:
        try:
            from sqs_lambda_dev.validate.template import load

            template = load(target.state["template"], stage=target.stage)
            target.routers = template_routers(template, target.state["queues"])
        except Exception:
            target.routers = {}
    return target.routers


def template_routers(template: Any, queue_urls: dict[str, str]) -> dict[str, Any]:
    """Each source queue's router (its consuming function's, imported in this process), by queue URL; a
    function whose handler cannot be imported, or is not a router's, is left out."""
    from sqs_lambda_dev.local.functions import import_handler

    routers: dict[str, Any] = {}
    for _, _, queue, consumer in template.event_source_mappings():
        url = queue_urls.get(queue)
        function = str(consumer)
        try:
            handler = import_handler(
                function,
                Path(template.code_uris[function]),
                str(template.properties(function).get("Handler", "app.lambda_handler")),
            )
        except Exception:
            continue
        router = getattr(getattr(handler, "__wrapped__", handler), "__self__", None)
        if url and router is not None:
            routers[url] = router
    return routers
