"""The template doctor behind ``sqs-lambda validate``.

It translates the SAM template offline (:mod:`sqs_lambda.template`), lints the resulting CloudFormation
with cfn-lint (which since 1.54 no longer lints SAM's transformed output, so ``sam validate --lint``
misses these), then applies the SQS/Lambda rules below. Each :class:`Finding` names the resource and
the fix; errors make the command exit non-zero.

Rules: a DLQ of the same type behind every triggering queue; FIFO names ending in ``.fifo``; a function
``Timeout`` that leaves room for a record after the time cut-off; ``maxReceiveCount`` >= 5; visibility
>= 6 x function timeout + batching window; ``ReportBatchItemFailures``; batch size vs window and FIFO;
DLQ retention >= source retention; EventBridge -> SQS policies restricted by ``aws:SourceArn``;
encrypted queues; MaximumConcurrency within 2-1000; no ``*`` actions or resources in inline policies;
the deploy-readiness rules of :mod:`.readiness` (layer compatibility, runtime lifecycle, Retain
policies, log retention, public routes), and :mod:`.current_aws`'s (provisioned pollers, the trigger's
metrics, payload size). cfn-lint's informational findings are shown as ``info``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqs_lambda.consuming.cutoff import effective_margin_ms
from sqs_lambda.wire import codec
from sqs_lambda_dev.validate.current_aws import CurrentAws
from sqs_lambda_dev.validate.django_tasks import DjangoTasks
from sqs_lambda_dev.validate.readiness import Readiness
from sqs_lambda_dev.validate.template import Template, load

DEFAULT_RETENTION = 345_600
DEFAULT_VISIBILITY = 30
DEFAULT_TIMEOUT = 3
DEFAULT_TIME_MARGIN_MS = 3_000  # the router's default time_margin_ms
# Time a record needs beyond the cut-off's margin: its run, plus a failure's DLQ copy, whose first call in a
# fresh environment (boto3's import and client) takes 0.5-2 s.
MIN_RECORD_ROOM_MS = 2_000
# cfn-lint rules that fire on SAM's own output after offline parameter substitution, not on user code.
TRANSLATION_NOISE = {"W1020"}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning" | "info" (only errors fail the command)
    rule: str
    resource: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.rule:<18} {self.resource}: {self.message}. Fix: {self.fix}"


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class Doctor:
    """Applies the rules to one translated template."""

    def __init__(self, template: Template) -> None:
        self.t = template

    def queue(self, logical: str) -> dict[str, Any]:
        return dict(self.t.resolve(self.t.properties(logical)) or {})

    def is_fifo(self, logical: str) -> bool:
        properties = self.queue(logical)
        return str(properties.get("FifoQueue", "false")).lower() == "true" or str(
            self.t.physical_name(logical) or ""
        ).endswith(".fifo")

    def mappings(self) -> Iterator[tuple[str, dict[str, Any], str]]:
        for name, properties, queue, _ in self.t.event_source_mappings():
            if queue and self.t.resources.get(queue, {}).get("Type") == "AWS::SQS::Queue":
                yield name, properties, queue

    def function_timeout(self, function_ref: Any) -> int:
        logical = self.t.function_of(function_ref)
        properties = self.t.properties(logical) if logical else {}
        return _int(self.t.resolve(properties.get("Timeout")), DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT

    def findings(self) -> list[Finding]:
        found: list[Finding] = []
        for mapping, properties, queue in self.mappings():
            found += self.check_mapping(mapping, properties, queue)
        found += self.check_queues()
        found += self.check_event_policies()
        found += self.check_policies()
        found += Readiness(self.t, Finding).findings()
        found += CurrentAws(self.t, Finding).findings()
        found += DjangoTasks(self.t, Finding).findings()
        return found

    # -- rules ----------------------------------------------------------------------------------------

    def check_mapping(self, mapping: str, properties: dict[str, Any], queue: str) -> list[Finding]:
        t, found = self.t, []
        fifo = self.is_fifo(queue)
        source = self.queue(queue)
        redrive = source.get("RedrivePolicy")
        if isinstance(redrive, str):
            redrive = codec.loads(redrive)
        if not isinstance(redrive, dict) or not redrive.get("deadLetterTargetArn"):
            found.append(
                Finding(
                    "error",
                    "dlq",
                    queue,
                    "this queue triggers a function but has no RedrivePolicy",
                    "add RedrivePolicy {deadLetterTargetArn, maxReceiveCount} to a DLQ of the same type",
                )
            )
        else:
            raw = t.properties(queue).get("RedrivePolicy", {})
            dlq = t.logical_id_of(raw.get("deadLetterTargetArn") if isinstance(raw, dict) else None)
            if dlq and self.is_fifo(dlq) != fifo:
                found.append(
                    Finding(
                        "error",
                        "dlq-type",
                        queue,
                        f"the DLQ {dlq} is {'FIFO' if self.is_fifo(dlq) else 'standard'} but the "
                        f"queue is {'FIFO' if fifo else 'standard'}",
                        "use a DLQ of the same type",
                    )
                )
            count = _int(redrive.get("maxReceiveCount"))
            if count is not None and count < 1:
                found.append(
                    Finding(
                        "error",
                        "max-receive",
                        queue,
                        f"maxReceiveCount is {count}",
                        "set maxReceiveCount to at least 5",
                    )
                )
            elif count is not None and count < 5:
                found.append(
                    Finding(
                        "warning",
                        "max-receive",
                        queue,
                        f"maxReceiveCount is {count}: throttled invocations can push good messages to the DLQ",
                        "set maxReceiveCount to at least 5",
                    )
                )
            if dlq:
                found += self.check_retention(queue, dlq)
        batch = _int(t.resolve(properties.get("BatchSize")), 10) or 10
        window = _int(t.resolve(properties.get("MaximumBatchingWindowInSeconds")), 0) or 0
        timeout = self.function_timeout(properties.get("FunctionName"))
        visibility = _int(source.get("VisibilityTimeout"), DEFAULT_VISIBILITY) or 0
        needed = 6 * timeout + window
        if visibility < needed:
            found.append(
                Finding(
                    "error",
                    "visibility",
                    queue,
                    f"visibility timeout {visibility}s is below 6 x function timeout ({timeout}s) + "
                    f"batching window ({window}s) = {needed}s",
                    f"set VisibilityTimeout: {needed} (or more) on {queue}",
                )
            )
        margin = effective_margin_ms(DEFAULT_TIME_MARGIN_MS, timeout * 1000)
        if timeout * 1000 - margin < MIN_RECORD_ROOM_MS:
            found.append(
                Finding(
                    "warning",
                    "timeout-room",
                    str(t.function_of(properties.get("FunctionName")) or mapping),
                    f"Timeout {timeout}s leaves {timeout * 1000 - margin} ms for records after the time cut-off's "
                    f"{margin} ms margin: a failing record's first DLQ copy may not fit, and a record cut off "
                    "by the timeout is redriven without its reason",
                    "set Timeout to 3 (seconds) or more, and SQS_LAMBDA_PREWARM=true in its environment",
                )
            )
        responses = t.resolve(properties.get("FunctionResponseTypes")) or []
        if "ReportBatchItemFailures" not in responses:
            found.append(
                Finding(
                    "error",
                    "partial-batch",
                    mapping,
                    "ReportBatchItemFailures is off: one failed record retries the whole batch",
                    "add FunctionResponseTypes: [ReportBatchItemFailures] to the SQS event",
                )
            )
        if fifo and batch > 10:
            found.append(
                Finding(
                    "error",
                    "batch-size",
                    mapping,
                    f"BatchSize {batch} on a FIFO queue",
                    "use BatchSize 10 or less on FIFO queues",
                )
            )
        if fifo and window:
            found.append(
                Finding(
                    "error",
                    "batch-window",
                    mapping,
                    "FIFO queues take no batching window",
                    "remove MaximumBatchingWindowInSeconds",
                )
            )
        if not fifo and batch > 10 and window < 1:
            found.append(
                Finding(
                    "error",
                    "batch-window",
                    mapping,
                    f"BatchSize {batch} needs MaximumBatchingWindowInSeconds >= 1",
                    "set MaximumBatchingWindowInSeconds (1-300)",
                )
            )
        scaling = t.resolve(properties.get("ScalingConfig")) or {}
        concurrency = _int(scaling.get("MaximumConcurrency")) if isinstance(scaling, dict) else None
        if concurrency is not None and not 2 <= concurrency <= 1000:
            found.append(
                Finding(
                    "error",
                    "concurrency",
                    mapping,
                    f"MaximumConcurrency is {concurrency}",
                    "use a value from 2 to 1000",
                )
            )
        return found

    def check_retention(self, queue: str, dlq: str) -> list[Finding]:
        source = _int(self.queue(queue).get("MessageRetentionPeriod"), DEFAULT_RETENTION) or DEFAULT_RETENTION
        dead = _int(self.queue(dlq).get("MessageRetentionPeriod"), DEFAULT_RETENTION) or DEFAULT_RETENTION
        if dead < source:
            return [
                Finding(
                    "error",
                    "dlq-retention",
                    dlq,
                    f"DLQ retention {dead}s is shorter than its source's ({source}s): messages keep "
                    "their first enqueue time and would expire early",
                    f"set MessageRetentionPeriod on {dlq} to at least {source} (1209600 is 14 days)",
                )
            ]
        return []

    def check_queues(self) -> list[Finding]:
        found = []
        for name in self.t.of_type("AWS::SQS::Queue"):
            properties = self.queue(name)
            declared_fifo = str(properties.get("FifoQueue", "false")).lower() == "true"
            queue_name = properties.get("QueueName")
            if isinstance(queue_name, str) and declared_fifo != queue_name.endswith(".fifo"):
                found.append(
                    Finding(
                        "error",
                        "fifo-name",
                        name,
                        f"QueueName {queue_name!r} "
                        + (
                            "does not end in .fifo, which SQS requires of a FIFO queue"
                            if declared_fifo
                            else "ends in .fifo but FifoQueue is not true"
                        ),
                        "end a FIFO queue's name in .fifo (and only a FIFO queue's)",
                    )
                )
            managed = str(properties.get("SqsManagedSseEnabled", "true")).lower()
            if managed == "false" and not properties.get("KmsMasterKeyId"):
                found.append(
                    Finding(
                        "error",
                        "encryption",
                        name,
                        "the queue is not encrypted",
                        "remove SqsManagedSseEnabled: false, or set KmsMasterKeyId",
                    )
                )
        return found

    def check_event_policies(self) -> list[Finding]:
        found = []
        targets = self._eventbridge_targets()
        for name, resource in self.t.of_type("AWS::SQS::QueuePolicy").items():
            document = resource.get("Properties", {}).get("PolicyDocument", {})
            for statement in document.get("Statement", []):
                principal = statement.get("Principal", {})
                services = principal.get("Service", []) if isinstance(principal, dict) else []
                services = [services] if isinstance(services, str) else services
                if "events.amazonaws.com" in services and "aws:SourceArn" not in str(statement.get("Condition")):
                    found.append(
                        Finding(
                            "error",
                            "eventbridge-policy",
                            name,
                            "events.amazonaws.com may send to the queue from any rule",
                            "add Condition: ArnEquals: {aws:SourceArn: <the rule's ARN>}",
                        )
                    )
        for queue in targets:
            key = str(self.queue(queue).get("KmsMasterKeyId", ""))
            if key == "alias/aws/sqs":
                found.append(
                    Finding(
                        "error",
                        "encryption",
                        queue,
                        "EventBridge cannot deliver to a queue encrypted with alias/aws/sqs",
                        "use SSE-SQS (SqsManagedSseEnabled: true) or a customer managed key",
                    )
                )
        return found

    def _eventbridge_targets(self) -> set[str]:
        found = set()
        for resource in self.t.of_type("AWS::Events::Rule").values():
            for target in resource.get("Properties", {}).get("Targets", []) or []:
                logical = self.t.logical_id_of(target.get("Arn"))
                if logical:
                    found.add(logical)
        return found

    def check_policies(self) -> list[Finding]:
        found = []
        for name, resource in self.t.of_type("AWS::IAM::Role").items():
            for policy in resource.get("Properties", {}).get("Policies", []) or []:
                for statement in policy.get("PolicyDocument", {}).get("Statement", []) or []:
                    actions = statement.get("Action", [])
                    actions = [actions] if isinstance(actions, str) else actions
                    resources = statement.get("Resource", [])
                    resources = [resources] if not isinstance(resources, list) else resources
                    if any(a == "*" or str(a).endswith(":*") for a in actions):
                        found.append(
                            Finding(
                                "warning",
                                "least-privilege",
                                name,
                                f"a statement allows {actions}",
                                "list the actions it needs",
                            )
                        )
                    if "*" in resources:
                        found.append(
                            Finding(
                                "warning",
                                "least-privilege",
                                name,
                                f"{actions} on every resource",
                                "name the resources' ARNs",
                            )
                        )
        return found


def lint(template: Template) -> list[Finding]:
    """cfn-lint on the translated CloudFormation, informational checks included (``--include-checks I``)."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    config = ManualArgs(regions=[template.region], include_checks=["I"])
    # the standard library's JSON: SAM's translation holds str subclasses (Py27UniStr) msgspec refuses
    matches = cfn_lint(json.dumps(template.cfn), config=config)
    found = []
    for match in matches:
        rule = str(match.rule.id)
        severity = {"E": "error", "W": "warning"}.get(rule[:1], "info")
        if rule in TRANSLATION_NOISE:
            continue
        path = getattr(match, "path", None) or []
        resource = str(path[1]) if len(path) > 1 and path[0] == "Resources" else "template"
        found.append(Finding(severity, f"cfn-lint {rule}", resource, str(match.message), "see cfn-lint's rule"))
    return found


def validate(path: str | Path, *, parameters: dict[str, Any] | None = None) -> list[Finding]:
    """All findings for a template: cfn-lint's, then ours."""
    template = load(path, parameters=parameters)
    return lint(template) + Doctor(template).findings()
