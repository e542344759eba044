"""Load a template's functions in this process: ``CodeUri`` + ``Handler``, environment, timeout.

Each function's module is imported under a unique name (every example function is ``app.py``), with
its code directory on ``sys.path`` so that its own sibling modules import. The environment variables
from the template are resolved against the local resources (a queue ``Ref`` becomes its local URL);
each function sees only its own, at import and during every invocation (:mod:`.environ`).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.local import environ
from sqs_lambda_dev.template import Template


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    handler: Any
    timeout: float
    environment: dict[str, str] = field(default_factory=dict)


def _import_handler(logical: str, code_dir: Path, handler: str) -> Any:
    module_path, _, attribute = handler.rpartition(".")
    if not module_path or not attribute:
        raise ConfigurationError(f"{logical}: Handler {handler!r} is not module.function")
    file = code_dir / (module_path.replace(".", "/") + ".py")
    if not file.exists():
        raise ConfigurationError(f"{logical}: {file} does not exist (CodeUri + Handler)")
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(f"sqs_lambda_local_{logical}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ConfigurationError(f"{logical}: {file} has no {attribute!r}") from None


def environment_of(template: Template, logical: str, names: dict[str, str]) -> dict[str, str]:
    variables = (template.properties(logical).get("Environment") or {}).get("Variables") or {}
    resolved: dict[str, str] = {}
    for key, value in variables.items():
        local = template.resolve(value, names)
        if local is not None:
            resolved[str(key)] = str(local)
    return resolved


def load_functions(
    template: Template, names: dict[str, str], base_environment: dict[str, str] | None = None
) -> dict[str, LocalFunction]:
    """Import every function that has local code, each under its own environment (its template
    variables over ``base_environment``: the local endpoint and region)."""
    environ.install()
    functions: dict[str, LocalFunction] = {}
    for logical, resource in template.of_type("AWS::Lambda::Function").items():
        properties = resource.get("Properties", {})
        code_dir = template.code_uris.get(logical)
        if code_dir is None:
            continue  # inline code or an S3 artifact: nothing to run locally
        environment = {**(base_environment or {}), **environment_of(template, logical, names)}
        with environ.function_environment(environment):
            handler = _import_handler(logical, Path(code_dir), str(properties.get("Handler", "app.lambda_handler")))
        functions[logical] = LocalFunction(
            logical_id=logical,
            name=template.physical_name(logical) or logical,
            handler=_with_environment(handler, environment),
            timeout=float(template.resolve(properties.get("Timeout")) or 3),
            environment=environment,
        )
    return functions


def _with_environment(handler: Any, environment: dict[str, str]) -> Any:
    """The handler, called with its function's environment in place (what Lambda gives each function)."""

    def invoke(event: Any, context: Any) -> Any:
        with environ.function_environment(environment):
            return handler(event, context)

    invoke.__wrapped__ = handler  # type: ignore[attr-defined]
    return invoke
