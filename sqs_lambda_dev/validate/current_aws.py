"""``validate`` rules for what AWS added to SQS and Lambda lately (see the README's "SQS and Lambda today"):

- ``provisioned-pollers``: ``ProvisionedPollerConfig`` on an SQS event: ``MinimumPollers`` 2-200,
  ``MaximumPollers`` 2-10,000 and not below the minimum, and never with ``ScalingConfig.MaximumConcurrency``
  (AWS takes one or the other);
- ``esm-metrics``: an SQS event without ``MetricsConfig`` (the trigger's own metrics: polled, filtered,
  invoked, failed; info only);
- ``payload-size``: a queue whose ``MaximumMessageSize`` is below SQS's 1 MiB while no function has a
  payload bucket (``SQS_LAMBDA_PAYLOAD_BUCKET``): a job over that size cannot be sent at all.
- ``snapstart-unique`` and ``snapstart-connection``: a function with SnapStart whose code, at import
  (module level, outside functions and classes), draws randomness (``random.*``, ``uuid.uuid1/4``,
  ``secrets.*``, ``os.urandom``) or opens connections (``boto3.client/resource``, ``socket.*``,
  ``requests.Session``): every environment restored from the snapshot shares them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
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
        found += self.check_snapstart()
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

    def check_snapstart(self) -> list[Any]:
        found = []
        for function in self.t.of_type("AWS::Lambda::Function"):
            properties = self.t.properties(function)
            snap = self.t.resolve(properties.get("SnapStart")) or {}
            code = self.t.code_uris.get(function)
            if not isinstance(snap, dict) or snap.get("ApplyOn") != "PublishedVersions" or not code:
                continue
            module = str(self.t.resolve(properties.get("Handler")) or "app.handler").rpartition(".")[0]
            path = Path(code) / (module.replace(".", "/") + ".py")
            for line, call, rule in import_time_calls(path):
                what = "randomness" if rule == "snapstart-unique" else "a connection"
                found.append(
                    self.finding(
                        "warning",
                        rule,
                        function,
                        f"{path.name}:{line} calls {call} at import: with SnapStart every restored environment "
                        f"shares that {what}",
                        "do it in the handler (or on first use), or redo it in a snapshot_restore_py "
                        "@register_after_restore hook",
                    )
                )
        return found


UNIQUE_CALLS = ("random.", "uuid.uuid1", "uuid.uuid4", "secrets.", "os.urandom")
CONNECTION_CALLS = ("boto3.client", "boto3.resource", "socket.", "requests.Session", "httpx.Client")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def import_time_calls(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, call, rule) for the calls a module makes at import that SnapStart would share."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue  # runs later, not at import
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name.startswith(UNIQUE_CALLS):
                yield node.lineno, name, "snapstart-unique"
            elif name.startswith(CONNECTION_CALLS):
                yield node.lineno, name, "snapstart-connection"
        pending.extend(ast.iter_child_nodes(node))
