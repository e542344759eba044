"""Deploy-readiness rules of ``sqs-lambda validate``: what breaks or loses data after a deploy.

- **layer-compat** (error): a layer whose ``CompatibleRuntimes``/``CompatibleArchitectures`` exclude a
  function that uses it, or whose build (``BuildMethod``/``BuildArchitecture``) is for another runtime or
  architecture than it declares: the wheels would not import (``No module named 'msgspec._core'``).
- **runtime-lifecycle** (warning): a function on a runtime Lambda deprecates within 12 months, read from
  cfn-lint's lifecycle data (the dates are not copied here).
- **retain** (warning): a queue, DLQ or table without ``DeletionPolicy``/``UpdateReplacePolicy: Retain``.
- **log-retention** (warning): a function whose log group keeps logs forever.
- **public-route** (warning): an HTTP route that anyone may call (no authorizer).
- **idempotency-table** (error): a function whose code registers ``idempotent=True`` jobs (read from
  its source, not imported) without ``SQS_LAMBDA_IDEMPOTENCY_TABLE``, or without a grant for
  Get/Put/Update/DeleteItem on that table: its idempotent jobs would never run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import cache
from importlib import resources as package_data
from pathlib import Path
from typing import Any

from sqs_lambda_dev.validate.template import Template

LIFECYCLE_HORIZON = dt.timedelta(days=365)
DEFAULT_ARCHITECTURE = "x86_64"
STATEFUL = ("AWS::SQS::Queue", "AWS::DynamoDB::Table")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


@cache
def runtime_lifecycle() -> dict[str, dict[str, Any]]:
    """cfn-lint's Lambda runtime lifecycle data: runtime -> {deprecated, successor, ...}."""
    data = package_data.files("cfnlint.data.AdditionalSpecs").joinpath("LmbdRuntimeLifecycle.json")
    return dict(json.loads(data.read_text()))


class Readiness:
    """The rules above over one translated template; ``finding(severity, rule, resource, message, fix)``
    builds the doctor's findings (passed in, so that this module needs nothing from the doctor)."""

    def __init__(self, template: Template, finding: Callable[..., Any], today: dt.date | None = None) -> None:
        self.t = template
        self.finding = finding
        self.today = today or dt.datetime.now(dt.UTC).date()

    def findings(self) -> list[Any]:
        return [
            *self.check_layers(),
            *self.check_runtimes(),
            *self.check_retain(),
            *self.check_log_retention(),
            *self.check_public_routes(),
            *self.check_idempotency(),
        ]

    def functions(self) -> dict[str, dict[str, Any]]:
        return {
            name: dict(self.t.resolve(self.t.properties(name)) or {})
            for name in self.t.of_type("AWS::Lambda::Function")
        }

    # -- layers -------------------------------------------------------------------------------------

    def _layer_build(self, layer: str) -> tuple[str | None, str | None]:
        """The SAM build's runtime and architecture of a layer (from the SAM template's Metadata)."""
        for logical, resource in (self.t.sam.get("Resources") or {}).items():
            if resource.get("Type") == "AWS::Serverless::LayerVersion" and layer.startswith(logical):
                metadata = resource.get("Metadata") or {}
                method = str(metadata.get("BuildMethod") or "")
                runtime = method if method.startswith("python") else None
                return runtime, str(metadata.get("BuildArchitecture") or DEFAULT_ARCHITECTURE) if runtime else None
        return None, None

    def check_layers(self) -> list[Any]:
        found = []
        layers = {
            name: dict(self.t.resolve(self.t.properties(name)) or {})
            for name in self.t.of_type("AWS::Lambda::LayerVersion")
        }
        for name, layer in layers.items():
            runtimes = [str(r) for r in layer.get("CompatibleRuntimes") or []]
            architectures = [str(a) for a in layer.get("CompatibleArchitectures") or []]
            built_for, built_on = self._layer_build(name)
            if built_for and runtimes and built_for not in runtimes:
                found.append(
                    self.finding(
                        "error",
                        "layer-compat",
                        name,
                        f"built for {built_for}, declared for {runtimes}",
                        f"set BuildMethod to one of {runtimes} (or fix CompatibleRuntimes)",
                    )
                )
            if built_on and architectures and built_on not in architectures:
                found.append(
                    self.finding(
                        "error",
                        "layer-compat",
                        name,
                        f"built for {built_on}, declared for {architectures}",
                        f"set BuildArchitecture to one of {architectures}",
                    )
                )
        for function, properties in self.functions().items():
            runtime = str(properties.get("Runtime") or "")
            architecture = str((properties.get("Architectures") or [DEFAULT_ARCHITECTURE])[0])
            for reference in self.t.properties(function).get("Layers") or []:
                used = self.t.logical_id_of(reference) if isinstance(reference, dict) else None
                if used is None or used not in layers:
                    continue
                runtimes = [str(r) for r in layers[used].get("CompatibleRuntimes") or []]
                architectures = [str(a) for a in layers[used].get("CompatibleArchitectures") or []]
                built_for, built_on = self._layer_build(used)
                if runtime not in (runtimes or [built_for or runtime]):  # the build is checked on the layer
                    found.append(
                        self.finding(
                            "error",
                            "layer-compat",
                            function,
                            f"runs {runtime}, but its layer {used} is for {runtimes or [built_for]}",
                            "build the layer for the functions' runtime (BuildMethod, CompatibleRuntimes)",
                        )
                    )
                if architecture not in (architectures or [built_on or architecture]):
                    found.append(
                        self.finding(
                            "error",
                            "layer-compat",
                            function,
                            f"runs on {architecture}, but its layer {used} is for {architectures or [built_on]}",
                            "build the layer for the functions' architecture (BuildArchitecture,"
                            " CompatibleArchitectures)",
                        )
                    )
        return found

    # -- runtimes -----------------------------------------------------------------------------------

    def check_runtimes(self) -> list[Any]:
        found = []
        lifecycle = runtime_lifecycle()
        for function, properties in self.functions().items():
            runtime = str(properties.get("Runtime") or "")
            dates = lifecycle.get(runtime)
            if not dates or not dates.get("deprecated"):
                continue
            deprecated = dt.date.fromisoformat(str(dates["deprecated"]))
            if deprecated - self.today > LIFECYCLE_HORIZON:
                continue
            when = "was deprecated" if deprecated <= self.today else "is deprecated"
            supported = sorted(
                (
                    name
                    for name, d in lifecycle.items()
                    if name.startswith("python")
                    and d.get("deprecated")
                    and dt.date.fromisoformat(str(d["deprecated"])) - self.today > LIFECYCLE_HORIZON
                ),
                key=lambda name: tuple(int(part) for part in name.removeprefix("python").split(".")),
            )
            found.append(
                self.finding(
                    "warning",
                    "runtime-lifecycle",
                    function,
                    f"{runtime} {when} on {deprecated} (cfn-lint's lifecycle data)",
                    f"move to a supported runtime: {', '.join(supported) or dates.get('successor')}",
                )
            )
        return found

    # -- data that outlives a stack -----------------------------------------------------------------

    def check_retain(self) -> list[Any]:
        found = []
        for name, resource in self.t.resources.items():
            if resource.get("Type") not in STATEFUL:
                continue
            missing = [key for key in ("DeletionPolicy", "UpdateReplacePolicy") if resource.get(key) != "Retain"]
            if missing:
                what = "messages" if resource["Type"] == "AWS::SQS::Queue" else "items"
                found.append(
                    self.finding(
                        "warning",
                        "retain",
                        name,
                        f"no {' / '.join(missing)}: Retain, so a stack delete or a replacement drops its {what}",
                        "add DeletionPolicy: Retain and UpdateReplacePolicy: Retain",
                    )
                )
        return found

    def check_log_retention(self) -> list[Any]:
        groups = {
            name: dict(self.t.resolve(self.t.properties(name)) or {}) for name in self.t.of_type("AWS::Logs::LogGroup")
        }
        by_name = {str(g.get("LogGroupName")): name for name, g in groups.items() if g.get("LogGroupName")}
        found = []
        for function, properties in self.functions().items():
            raw = self.t.properties(function).get("LoggingConfig") or {}
            logical = self.t.logical_id_of(raw.get("LogGroup")) if isinstance(raw, dict) else None
            if logical not in groups:
                configured = (properties.get("LoggingConfig") or {}).get("LogGroup")
                logical = by_name.get(str(configured or f"/aws/lambda/{self.t.physical_name(function) or function}"))
            if logical is None or not groups[logical].get("RetentionInDays"):
                found.append(
                    self.finding(
                        "warning",
                        "log-retention",
                        function,
                        "its log group keeps logs forever (Lambda creates it without retention)",
                        "declare an AWS::Logs::LogGroup with RetentionInDays and point LoggingConfig.LogGroup at it",
                    )
                )
        return found

    # -- who may call -------------------------------------------------------------------------------

    def check_public_routes(self) -> list[Any]:
        found = []
        for kind in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"):
            for name in self.t.of_type(kind):
                body = self.t.properties(name).get("Body") or {}
                top_security = body.get("security")
                for path, operations in (body.get("paths") or {}).items():
                    for method, operation in (operations or {}).items():
                        public = isinstance(operation, dict) and not (operation.get("security") or top_security)
                        if method.lower() in HTTP_METHODS and public:
                            found.append(self._public(name, f"{method.upper()} {path}"))
        for name in self.t.of_type("AWS::ApiGatewayV2::Route"):
            properties = self.t.properties(name)
            if self._open(properties.get("AuthorizationType")):
                found.append(self._public(name, str(properties.get("RouteKey"))))
        for name in self.t.of_type("AWS::ApiGateway::Method"):
            properties = self.t.properties(name)
            if str(properties.get("HttpMethod", "")).upper() != "OPTIONS" and self._open(
                properties.get("AuthorizationType")
            ):
                found.append(self._public(name, str(properties.get("HttpMethod"))))
        return found

    @staticmethod
    def _open(authorization: Any) -> bool:
        """No authorizer: absent or NONE; a condition is open only if every branch is."""
        if isinstance(authorization, dict) and "Fn::If" in authorization:
            return all(Readiness._open(branch) for branch in authorization["Fn::If"][1:])
        return authorization in (None, "NONE")

    def _public(self, resource: str, route: str) -> Any:
        return self.finding(
            "warning",
            "public-route",
            resource,
            f"{route} has no authorizer: anyone may call it",
            "set an authorizer (IAM, JWT or Lambda) or DefaultAuthorizer on the API",
        )

    # -- effectively-once jobs ----------------------------------------------------------------------

    def check_idempotency(self) -> list[Any]:
        found = []
        for function in self.functions():
            code = self.t.code_uris.get(function)
            if code is None or not uses_idempotent_jobs(Path(code)):
                continue
            raw = self.t.properties(function)
            table = ((raw.get("Environment") or {}).get("Variables") or {}).get(IDEMPOTENCY_VARIABLE)
            if table is None:
                found.append(
                    self.finding(
                        "error",
                        "idempotency-table",
                        function,
                        f"its code registers idempotent jobs, but {IDEMPOTENCY_VARIABLE} is not set",
                        f"add a DynamoDB table (key `id`, TTL on `expiration`) and set {IDEMPOTENCY_VARIABLE}",
                    )
                )
                continue
            table_id = self.t.logical_id_of(table) if isinstance(table, dict) else None
            if not grants(self.t, function, IDEMPOTENCY_ACTIONS, table_id):
                found.append(
                    self.finding(
                        "error",
                        "idempotency-table",
                        function,
                        f"no grant of {', '.join(IDEMPOTENCY_ACTIONS)} on its idempotency table",
                        "add a policy statement with those actions on the table's ARN",
                    )
                )
        return found


IDEMPOTENCY_VARIABLE = "SQS_LAMBDA_IDEMPOTENCY_TABLE"
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def grants(template: Template, function: str, actions: tuple[str, ...], table: str | None) -> bool:
    """Whether ``function``'s role allows every one of ``actions`` on ``table`` (a logical id; None: any)."""
    role = template.logical_id_of(template.properties(function).get("Role"))
    granted: set[str] = set()
    for policy in template.properties(role).get("Policies", []) if role else []:
        for statement in (policy.get("PolicyDocument") or {}).get("Statement", []) or []:
            resources = str(statement.get("Resource"))
            if statement.get("Effect") != "Allow" or (table and table not in resources and resources != "*"):
                continue
            listed = statement.get("Action", [])
            granted.update([listed] if isinstance(listed, str) else listed)
    return all(action in granted or "dynamodb:*" in granted for action in actions)


def uses_idempotent_jobs(code: Path) -> bool:
    """Whether any module under ``code`` calls ``.job(..., idempotent=True)`` (read, never imported)."""
    import ast

    for path in code.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "job":
                for keyword in node.keywords:
                    if keyword.arg == "idempotent" and getattr(keyword.value, "value", False) is True:
                        return True
    return False
