"""``sqs-lambda local --demo``: find and load the application's demo script.

The template names it in its Metadata (``SqsLambda: {Demo: path/to/demo.py}``, relative to the template),
so the library knows nothing of any application. The script defines ``enqueue(runtime)`` (returns what it
sent, with a one-line ``message``) and ``outcome(runtime)`` (what became of it, for the summary).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.validate.template import Template

METADATA_KEY = "SqsLambda"


def load_demo(template: Template) -> ModuleType:
    """The demo script the template names, imported; ConfigurationError when it names none."""
    settings = (template.sam.get("Metadata") or {}).get(METADATA_KEY) or {}
    name = settings.get("Demo") if isinstance(settings, dict) else None
    if not name:
        raise ConfigurationError(
            f"{template.path}: --demo needs a demo script named in the template's Metadata "
            f"({METADATA_KEY}: {{Demo: path/to/demo.py}})"
        )
    path = (Path(template.path).parent / str(name)).resolve()
    spec = importlib.util.spec_from_file_location("sqs_lambda_demo", path)
    if spec is None or spec.loader is None or not path.exists():
        raise ConfigurationError(f"{template.path}: the demo script {path} does not exist")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for required in ("enqueue", "outcome"):
        if not callable(getattr(module, required, None)):
            raise ConfigurationError(f"{path}: a demo script defines enqueue(runtime) and outcome(runtime)")
    return module
