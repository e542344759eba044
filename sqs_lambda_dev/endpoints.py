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

from sqs_lambda import aws
from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.moto_server import LOCAL_CREDENTIALS

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB")


@dataclass
class Target:
    kind: str  # "local" | "endpoint" | "aws"
    endpoint_url: str | None = None
    stage: str | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "local":
            return f"local runtime at {self.endpoint_url} (stage {self.stage})"
        if self.kind == "endpoint":
            return f"endpoint {self.endpoint_url}"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "(default region)"
        return f"AWS, region {region}"


def _point_at(url: str, *, dummy_credentials: bool) -> None:
    for name in ENDPOINT_VARIABLES:
        os.environ[name] = url
    if dummy_credentials:
        for key, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(key, value)
    aws.reset()


def choose(
    *,
    local: bool = False,
    endpoint_url: str | None = None,
    use_aws: bool = False,
    stage: str | None = None,
    state_dir: Path | str = ".sqs-lambda",
) -> Target:
    """Pick the target from the flags (see the module docstring) and point boto3 at it."""
    from sqs_lambda_dev.local.runtime import read_state

    if sum([local, bool(endpoint_url), use_aws]) > 1:
        raise ConfigurationError("choose one of --local, --endpoint-url and --aws")
    state = read_state(state_dir)
    if local:
        if state is None:
            raise ConfigurationError(
                "no local runtime is running here: start one with `sqs-lambda local` "
                "(from this directory), or pass --endpoint-url"
            )
        _point_at(state["endpoint_url"], dummy_credentials=True)
        os.environ.setdefault("AWS_REGION", state.get("region", "us-east-1"))
        return Target("local", state["endpoint_url"], stage or state.get("stage"), state)
    if endpoint_url:
        _point_at(endpoint_url, dummy_credentials=True)
        return Target("endpoint", endpoint_url, stage or os.environ.get("SQS_LAMBDA_STAGE"))
    environment_endpoint = os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL")
    if environment_endpoint and not use_aws:
        return Target("endpoint", environment_endpoint, stage or os.environ.get("SQS_LAMBDA_STAGE"))
    if state is not None and not use_aws:
        raise ConfigurationError(
            f"a local runtime is running here ({state['endpoint_url']}): pass --local to "
            "use it, or --aws to use your AWS account"
        )
    for name in ENDPOINT_VARIABLES:
        os.environ.pop(name, None)
    aws.reset()
    return Target("aws", None, stage or os.environ.get("SQS_LAMBDA_STAGE"))


def queue_url(target: Target, name: str) -> str:
    """A queue URL from a URL, a name, a stage-less name, or (locally) a template logical id."""
    if name.startswith(("http://", "https://")):
        return name
    queues = target.state.get("queues", {}) if target.kind == "local" else {}
    if name in queues:
        return str(queues[name])
    candidates = [name]
    if target.stage and not name.startswith(f"{target.stage}-"):
        candidates.append(f"{target.stage}-{name}")
    for candidate in candidates:
        try:
            return aws.queue_url(candidate)
        except ConfigurationError:
            continue
    raise ConfigurationError(
        f"queue not found: {name}" + (f" (also tried {candidates[1]})" if len(candidates) > 1 else "")
    )


def source_queues(target: Target, names: list[str]) -> list[str]:
    """The named queues, or else the template's source queues (local) or the stage's non-DLQ queues."""
    from sqs_lambda_dev import ops

    if names:
        return [queue_url(target, name) for name in names]
    if target.kind == "local":
        return [url for logical, url in target.state["queues"].items() if logical not in target.state["dlqs"]]
    return [
        url
        for url in ops.list_queues(f"{target.stage}-" if target.stage else "")
        if not url.rstrip("/").split("/")[-1].removesuffix(".fifo").endswith("-dlq")
    ]


def all_queues(target: Target) -> list[str]:
    from sqs_lambda_dev import ops

    if target.kind == "local":
        return list(target.state["queues"].values())
    return ops.list_queues(f"{target.stage}-" if target.stage else "")


def send_queue(target: Target, queue: str | None) -> str:
    """Where ``send`` goes: ``--queue``, else the local jobs queue, else ``$SQS_LAMBDA_QUEUE_URL``."""
    if queue:
        return queue_url(target, queue)
    if target.kind == "local" and "JobsQueue" in target.state["queues"]:
        return str(target.state["queues"]["JobsQueue"])
    if os.environ.get("SQS_LAMBDA_QUEUE_URL"):
        return os.environ["SQS_LAMBDA_QUEUE_URL"]
    raise ConfigurationError("which queue? pass --queue")


def router_for(target: Target, url: str) -> Any:
    """The router whose function consumes ``url`` in the local runtime's template (for validation), or None."""
    if target.kind != "local":
        return None
    try:
        from sqs_lambda_dev.local.functions import _import_handler
        from sqs_lambda_dev.template import load

        template = load(target.state["template"], parameters={"Stage": target.stage} if target.stage else None)
        logical = next((k for k, v in target.state["queues"].items() if v == url), None)
        for resource in template.of_type("AWS::Lambda::EventSourceMapping").values():
            properties = resource.get("Properties", {})
            if template.logical_id_of(properties.get("EventSourceArn")) == logical:
                function = str(template.logical_id_of(properties.get("FunctionName")))
                handler = _import_handler(
                    function,
                    Path(template.code_uris[function]),
                    str(template.properties(function).get("Handler", "app.lambda_handler")),
                )
                return getattr(getattr(handler, "__wrapped__", handler), "__self__", None)
    except Exception:  # no template, no code: validation falls back to the producer's own checks
        return None
    return None
