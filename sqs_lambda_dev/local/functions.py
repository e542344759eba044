"""What the local runtime knows of a template's functions: where the code is and how it is configured.

Nothing here imports a function's code: each function runs in its own execution environments
(:mod:`.environments`). :func:`import_handler` is for the CLI's commands that need a function's router
in their own process (``send`` checks job names, ``redrive --in-place`` runs the handler).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.validate.template import Template

LAMBDA_DEFAULT_TIMEOUT = 3
LAMBDA_DEFAULT_MEMORY = 128


@dataclass
class FunctionSpec:
    """One function, as its template declares it (intrinsics resolved against the local resources)."""

    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: float = LAMBDA_DEFAULT_TIMEOUT
    memory_mb: int = LAMBDA_DEFAULT_MEMORY
    runtime: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    layer_paths: list[Path] = field(default_factory=list)
    log_group: str = ""
    log_format: str = ""  # LoggingConfig: Text or JSON
    log_level: str = ""
    reserved_concurrency: int | None = None


def environment_of(template: Template, logical: str, names: dict[str, str]) -> dict[str, str]:
    variables = (template.properties(logical).get("Environment") or {}).get("Variables") or {}
    resolved: dict[str, str] = {}
    for key, value in variables.items():
        local = template.resolve(value, names)
        if local is not None:
            resolved[str(key)] = str(local)
    return resolved


def layer_paths(template: Template, logical: str) -> list[Path]:
    """The ``python/`` directories of the function's layers that have local content, in layer order
    (with ``python/lib/pythonX.Y/site-packages``, as Lambda puts both on the path). A layer built by a
    makefile has no ``python/`` until ``sam build``; the development install supplies its packages."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    paths: list[Path] = []
    for layer in template.properties(logical).get("Layers") or []:
        content = template.code_uris.get(str(template.logical_id_of(layer)))
        if content is None:
            continue
        for candidate in (Path(content) / "python", Path(content) / "python" / "lib" / version / "site-packages"):
            if candidate.is_dir():
                paths.append(candidate)
    return paths


def function_specs(template: Template, names: dict[str, str]) -> dict[str, FunctionSpec]:
    """Every function with local code (inline code and S3 artifacts have nothing to run here)."""
    specs: dict[str, FunctionSpec] = {}
    for logical in template.of_type("AWS::Lambda::Function"):
        code_dir = template.code_uris.get(logical)
        if code_dir is None:
            continue
        properties = template.properties(logical)
        name = template.physical_name(logical) or logical
        handler = str(template.resolve(properties.get("Handler")) or "app.lambda_handler")
        module, _, attribute = handler.rpartition(".")
        if not module or not attribute:
            raise ConfigurationError(f"{logical}: Handler {handler!r} is not module.function")
        logging = template.resolve(properties.get("LoggingConfig")) or {}
        reserved = template.resolve(properties.get("ReservedConcurrentExecutions"))
        specs[logical] = FunctionSpec(
            logical_id=logical,
            name=name,
            code_dir=Path(code_dir),
            handler=handler,
            timeout=float(template.resolve(properties.get("Timeout")) or LAMBDA_DEFAULT_TIMEOUT),
            memory_mb=int(template.resolve(properties.get("MemorySize")) or LAMBDA_DEFAULT_MEMORY),
            runtime=str(template.resolve(properties.get("Runtime")) or ""),
            environment=environment_of(template, logical, names),
            layer_paths=layer_paths(template, logical),
            log_group=str(logging.get("LogGroup") or f"/aws/lambda/{name}"),
            log_format=str(logging.get("LogFormat") or ""),
            log_level=str(logging.get("ApplicationLogLevel") or ""),
            reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
        )
    return specs


def import_handler(logical: str, code_dir: Path, handler: str) -> Any:
    """Import a function's handler into this process (under a name of its own, since every example
    function is ``app.py``), with its code directory on ``sys.path``."""
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
