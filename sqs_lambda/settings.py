"""The runtime's configuration from the environment: every variable it reads is named and read here.

:func:`current` is the snapshot in force. Each value is read on first use and then kept, so a setting
costs one lookup per snapshot and nothing when unused. A new snapshot starts (:func:`expire`) where
configuration is taken up: at the start of each invocation of a router, when a producer or an SQS port is
made, and on :func:`sqs_lambda.aws.reset`. In Lambda the environment never changes, so the values are
the same every time; a test that changes a variable sees it at the next invocation.

The template sets the ``SQS_LAMBDA_*`` variables; the ``AWS_*`` ones are boto3's own, read here only
to key the client cache and to spot a local endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property

QUEUE_URL = "SQS_LAMBDA_QUEUE_URL"  # where a router's .delay() sends (the template sets it)
QUEUE_NAME = "SQS_LAMBDA_QUEUE_NAME"
STAGE = "SQS_LAMBDA_STAGE"  # prefixes queue names: "{stage}-{name}"
PAYLOAD_BUCKET = "SQS_LAMBDA_PAYLOAD_BUCKET"  # S3 pointers for messages over the size limit
IDEMPOTENCY_TABLE = "SQS_LAMBDA_IDEMPOTENCY_TABLE"  # DynamoDB table of idempotent jobs
TASK_RESULTS_TABLE = "SQS_LAMBDA_TASK_RESULTS_TABLE"  # DynamoDB table of django.tasks results
LOG_ARGUMENTS = "SQS_LAMBDA_LOG_ARGUMENTS"
METRICS = "SQS_LAMBDA_METRICS"
METRICS_NAMESPACE = "SQS_LAMBDA_METRICS_NAMESPACE"
TRACING = "SQS_LAMBDA_TRACING"
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
PREWARM = "SQS_LAMBDA_PREWARM"  # warm the failure path at init (boto3, the queue's and DLQ's facts)
CLOCK_SKEW = "SQS_LAMBDA_CLOCK_SKEW"  # seconds this function's clock is off, for delays (chaos testing)
OTEL_EXPORTER = "SQS_LAMBDA_OTEL"  # "console" or "otlp": set up OpenTelemetry's SDK here (sqs-lambda local --otel)
INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"  # Lambda's: "snap-start" under SnapStart


class Settings:
    """One snapshot of the environment's configuration (see the module docstring)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._endpoints: dict[str, tuple[str | None, str | None]] = {}

    def _text(self, name: str) -> str | None:
        return self._environ.get(name) or None

    def _flag(self, name: str) -> bool:
        return self._environ.get(name, "").lower() == "true"

    @cached_property
    def queue_url(self) -> str | None:
        return self._text(QUEUE_URL)

    @cached_property
    def queue_name(self) -> str | None:
        return self._text(QUEUE_NAME)

    @cached_property
    def stage(self) -> str:
        return self._environ.get(STAGE, "")

    @cached_property
    def otel_exporter(self) -> str | None:
        return self._text(OTEL_EXPORTER)

    @cached_property
    def task_results_table(self) -> str | None:
        return self._text(TASK_RESULTS_TABLE)

    @cached_property
    def payload_bucket(self) -> str | None:
        return self._text(PAYLOAD_BUCKET)

    @cached_property
    def idempotency_table(self) -> str | None:
        return self._text(IDEMPOTENCY_TABLE)

    @cached_property
    def log_arguments(self) -> bool:
        return self._flag(LOG_ARGUMENTS)

    @cached_property
    def metrics(self) -> bool:
        return self._flag(METRICS)

    @cached_property
    def metrics_namespace(self) -> str:
        return self._environ.get(METRICS_NAMESPACE, "sqs-lambda")

    @cached_property
    def tracing(self) -> bool:
        return self._flag(TRACING)

    @cached_property
    def service_name(self) -> str:
        return self._text(SERVICE_NAME) or "sqs-lambda"

    @cached_property
    def prewarm(self) -> bool:
        return self._flag(PREWARM)

    @cached_property
    def snap_start(self) -> bool:
        """Lambda initialises this environment for a SnapStart snapshot."""
        return self._environ.get(INITIALIZATION_TYPE) == "snap-start"

    @cached_property
    def clock_skew(self) -> float:
        try:
            return float(self._environ.get(CLOCK_SKEW) or 0)
        except ValueError:
            return 0.0

    @cached_property
    def region(self) -> str | None:
        return self._text("AWS_REGION") or self._text("AWS_DEFAULT_REGION")

    def endpoints(self, service: str) -> tuple[str | None, str | None]:
        """``AWS_ENDPOINT_URL_<SERVICE>`` and ``AWS_ENDPOINT_URL``, as boto3 reads them."""
        found = self._endpoints.get(service)
        if found is None:
            found = self._endpoints[service] = (
                self._text(f"AWS_ENDPOINT_URL_{service.upper()}"),
                self._text("AWS_ENDPOINT_URL"),
            )
        return found

    @cached_property
    def credential_sources(self) -> tuple[str | None, ...]:
        """What points boto3 at credentials without the network: keys, a profile, credential files."""
        return tuple(
            self._text(name)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")
        )

    def variable(self, name: str) -> str | None:
        """A variable the application names itself (``signing.from_env("JOB_SIGNING_KEYS")``)."""
        return self._text(name)


_current = Settings()


def current() -> Settings:
    """The snapshot in force."""
    return _current


def expire() -> None:
    """Start a new snapshot: the next read of each setting looks at the environment again."""
    global _current
    _current = Settings()
