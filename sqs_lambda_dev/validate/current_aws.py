"""``validate`` rules for what AWS added to SQS and Lambda lately (see the README's "SQS and Lambda today"):

- ``provisioned-pollers``: ``ProvisionedPollerConfig`` on an SQS event: ``MinimumPollers`` 2-200,
  ``MaximumPollers`` 2-10,000 and not below the minimum, and never with ``ScalingConfig.MaximumConcurrency``
  (AWS takes one or the other);
- ``esm-metrics``: an SQS event without ``MetricsConfig`` (the trigger's own metrics: polled, filtered,
  invoked, failed; info only);
- ``payload-size``: a queue whose ``MaximumMessageSize`` is below SQS's 1 MiB while no function has a
  payload bucket (``SQS_LAMBDA_PAYLOAD_BUCKET``): a job over that size cannot be sent at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqs_lambda_dev.validate.template import Template

SQS_MAX_MESSAGE_SIZE = 1_048_576  # 1 MiB, SQS's limit and a queue's default MaximumMessageSize
MIN_POLLERS, MAX_MIN_POLLERS, MAX_POLLERS = 2, 200, 10_000


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CurrentAws:
    def __init__(self, template: Template, finding: Callable[..., Any]) -> None:
        self.t, self.finding = template, finding

    def findings(self) -> list[Any]:
        found: list[Any] = []
        for name, properties, queue, _ in self.t.event_source_mappings():
            if queue and self.t.resources.get(queue, {}).get("Type") == "AWS::SQS::Queue":
                found += self.check_mapping(name, properties)
        found += self.check_payload_size()
        return found

    def check_mapping(self, mapping: str, properties: dict[str, Any]) -> list[Any]:
        t, found = self.t, []
        provisioned = t.resolve(properties.get("ProvisionedPollerConfig"))
        if isinstance(provisioned, dict):
            low, high = _int(provisioned.get("MinimumPollers")), _int(provisioned.get("MaximumPollers"))
            if low is not None and not MIN_POLLERS <= low <= MAX_MIN_POLLERS:
                found.append(
                    self.finding(
                        "error",
                        "provisioned-pollers",
                        mapping,
                        f"MinimumPollers is {low}",
                        f"use {MIN_POLLERS} to {MAX_MIN_POLLERS} for an SQS trigger",
                    )
                )
            if high is not None and not MIN_POLLERS <= high <= MAX_POLLERS:
                found.append(
                    self.finding(
                        "error",
                        "provisioned-pollers",
                        mapping,
                        f"MaximumPollers is {high}",
                        f"use {MIN_POLLERS} to {MAX_POLLERS:,} for an SQS trigger",
                    )
                )
            if low is not None and high is not None and high < low:
                found.append(
                    self.finding(
                        "error",
                        "provisioned-pollers",
                        mapping,
                        f"MaximumPollers {high} is below MinimumPollers {low}",
                        "raise MaximumPollers to at least MinimumPollers",
                    )
                )
            scaling = t.resolve(properties.get("ScalingConfig"))
            if isinstance(scaling, dict) and scaling.get("MaximumConcurrency") is not None:
                found.append(
                    self.finding(
                        "error",
                        "provisioned-pollers",
                        mapping,
                        "ProvisionedPollerConfig and ScalingConfig.MaximumConcurrency are both set",
                        "keep one: provisioned pollers, or on-demand with MaximumConcurrency",
                    )
                )
        if t.resolve(properties.get("MetricsConfig")) is None:
            found.append(
                self.finding(
                    "info",
                    "esm-metrics",
                    mapping,
                    "the trigger's own metrics (MetricsConfig) are off",
                    "add MetricsConfig: {Metrics: [EventCount]} to the SQS event",
                )
            )
        return found

    def check_payload_size(self) -> list[Any]:
        t = self.t
        functions = t.of_type("AWS::Serverless::Function") | t.of_type("AWS::Lambda::Function")
        bucket = any(
            "SQS_LAMBDA_PAYLOAD_BUCKET" in ((t.properties(name).get("Environment") or {}).get("Variables") or {})
            for name in functions
        )
        found = []
        for queue in t.of_type("AWS::SQS::Queue"):
            size = _int((t.resolve(t.properties(queue)) or {}).get("MaximumMessageSize"))
            if size is not None and size < SQS_MAX_MESSAGE_SIZE and not bucket:
                found.append(
                    self.finding(
                        "warning",
                        "payload-size",
                        queue,
                        f"MaximumMessageSize is {size:,} bytes (SQS allows 1 MiB) and no function has a payload "
                        "bucket: a job over that size cannot be sent",
                        "set SQS_LAMBDA_PAYLOAD_BUCKET on the producers (larger jobs travel as S3 pointers), or "
                        "drop MaximumMessageSize",
                    )
                )
        return found
