"""The packages and their one direction of dependencies: runtime <- dev <- test kit.

- ``sqs_lambda`` (the runtime: what ships to Lambda) imports neither the dev package, nor the test
  kit, nor boto3 at import time: every runtime module imports, and the router routes, with those blocked.
- ``sqs_lambda_dev`` (CLI, ops, local runtime, template model, doctor, moto launcher) never imports the
  test kit.
- The layer is built by including the runtime package: it holds no dev or test-kit module.
- The job inspector's web stack (Starlette, Jinja2, uvicorn) is imported by ``sqs_lambda_dev.dashboard`` only.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNTIME, DEV, TESTKIT = "sqs_lambda", "sqs_lambda_dev", "sqs_lambda_testing"


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """Every import in a file: (line, absolute module, names imported from it); relative ones resolved."""
    package = list(path.relative_to(ROOT).parent.parts)
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = str(node.module)
            found.append((node.lineno, module, [alias.name for alias in node.names]))
    return found


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module a package's files import (absolute names)."""
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): {module for _, module, _ in imports(path)}
        for path in (ROOT / package).rglob("*.py")
    }


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    )


def test_the_runtime_imports_neither_dev_nor_test_kit() -> None:
    # the one exception: `python -m sqs_lambda` runs the CLI, from inside main(), never at import
    assert offenders(RUNTIME, (DEV, TESTKIT)) == ["sqs_lambda.__main__ imports sqs_lambda_dev.cli"]


def test_python_m_sqs_lambda_is_the_cli_or_says_how_to_install_it() -> None:
    version = subprocess.run([sys.executable, "-m", RUNTIME, "--version"], capture_output=True, text=True, cwd=ROOT)
    assert version.returncode == 0 and version.stdout.startswith("sqs-lambda ")
    without_cli = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('sqs_lambda_dev'): raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['sqs_lambda', '--version']\n"
        "runpy.run_module('sqs_lambda', run_name='__main__')\n"
    )
    blocked = subprocess.run([sys.executable, "-c", without_cli], capture_output=True, text=True, cwd=ROOT)
    assert blocked.returncode == 1 and "pip install 'sqs-lambda[cli]'" in blocked.stderr


def test_dev_never_imports_the_test_kit() -> None:
    assert offenders(DEV, (TESTKIT,)) == []


WEB = ("starlette", "jinja2", "uvicorn", "multipart", "markupsafe")


def test_the_web_stack_stays_in_the_dashboard() -> None:
    """The job inspector's framework is the dashboard's alone: never the runtime's (nor the layer's)."""
    assert offenders(RUNTIME, WEB) == []
    outside = [line for line in offenders(DEV, WEB) if not line.startswith("sqs_lambda_dev.dashboard.")]
    assert outside == []


BLOCKED_RUN = """
import importlib, pkgutil, sys

BLOCKED = ("sqs_lambda_dev", "sqs_lambda_testing", "boto3", "botocore", "moto", "starlette", "jinja2", "uvicorn")

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())
try:  # the Django app's models and migrations import only in a configured project, as any app's do
    import django
    from django.conf import settings
except ImportError:
    pass
else:
    settings.configure(INSTALLED_APPS=["sqs_lambda.contrib.django"])
    django.setup()
import sqs_lambda
modules = sorted(m.name for m in pkgutil.walk_packages(sqs_lambda.__path__, "sqs_lambda."))
for name in modules:
    importlib.import_module(name)

from sqs_lambda import Router
router = Router()
ran = []

@router.job()
def work(n: int) -> None:
    ran.append(n)

body = '{"sqs_lambda": 1, "id": "a", "job": "work", "kwargs": {"n": 7}}'
record = {"messageId": "m1", "receiptHandle": "r", "body": body, "attributes": {"ApproximateReceiveCount": "1"},
          "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
assert router.lambda_handler({"Records": [record]}, None) == {"batchItemFailures": []}
assert ran == [7]
print(len(modules), "runtime modules imported;", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
"""


def test_every_runtime_module_imports_and_the_router_routes_with_dev_test_kit_and_boto3_blocked() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKED_RUN], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("runtime modules imported; []"), result.stdout


def test_the_layer_build_holds_the_runtime_package_and_no_dev_module(tmp_path: Path) -> None:
    """The layer's content is ``layer/``: a link to the runtime package and the runtime's requirements.
    ``sam build`` (BuildMethod python3.x) copies it, links followed, into ``python/`` and installs the
    requirements there for the build's runtime and architecture; the copy is emulated here, the slow
    test runs ``sam build`` itself."""
    import shutil
    import tomllib

    content = sorted(path.name for path in (ROOT / "layer").iterdir())
    assert content == ["requirements.txt", RUNTIME]
    assert (ROOT / "layer" / RUNTIME).resolve() == (ROOT / RUNTIME).resolve()
    requirements = (ROOT / "layer" / "requirements.txt").read_text().split()
    assert requirements == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    shutil.copytree(
        ROOT / "layer" / RUNTIME, tmp_path / "python" / RUNTIME, ignore=shutil.ignore_patterns("__pycache__")
    )
    shipped = sorted(str(p.relative_to(tmp_path / "python")) for p in (tmp_path / "python").rglob("*.py"))
    expected = sorted(str(p.relative_to(ROOT)) for p in (ROOT / RUNTIME).rglob("*.py"))
    assert shipped == expected
    assert not any(part in (DEV, TESTKIT, "local", "testing", "cli.py") for p in shipped for part in Path(p).parts)
    check = textwrap.dedent(
        """
        import sys
        from sqs_lambda import Router
        assert sys.modules["sqs_lambda"].__file__.startswith(sys.argv[1]), sys.modules["sqs_lambda"].__file__
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", check, str(tmp_path / "python")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "python")},
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr


def test_every_import_resolves_even_the_lazy_ones(django_project: Any) -> None:
    """Imports inside functions run only on some paths (errors, DLQ, peers): check they all resolve.
    (In a configured Django project: the Django app's models import only there.)"""
    import importlib
    import importlib.util

    unresolved = []
    for package in (RUNTIME, DEV, TESTKIT):
        for path in (ROOT / package).rglob("*.py"):
            for line, module, names in imports(path):
                if module.split(".")[0] not in (RUNTIME, DEV, TESTKIT):
                    continue
                where = f"{path.relative_to(ROOT)}:{line}"
                if importlib.util.find_spec(module) is None:
                    unresolved.append(f"{where}: {module}")
                    continue
                loaded = importlib.import_module(module)
                unresolved += [
                    f"{where}: {module}.{name}"
                    for name in names
                    if not hasattr(loaded, name) and importlib.util.find_spec(f"{module}.{name}") is None
                ]
    assert unresolved == []


def test_the_version_is_written_once_and_the_packages_are_typed() -> None:
    import importlib.metadata

    import sqs_lambda

    assert importlib.metadata.version("sqs-lambda") == sqs_lambda.__version__
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert all((ROOT / package / "py.typed").exists() for package in (RUNTIME, DEV, TESTKIT))


# -- architecture step two (#21): one batch delivery, ports passed in ----------------------------------

DELIVERERS = ("sqs_lambda/worker/poller.py", "sqs_lambda_dev/local/trigger.py", "sqs_lambda_testing/memory.py")


def test_one_delivery_module_used_by_worker_local_trigger_and_test_kit() -> None:
    for relative in DELIVERERS:
        modules = {module for _, module, _ in imports(ROOT / relative)}
        names = {f"{module}.{name}" for _, module, found in imports(ROOT / relative) for name in found}
        assert "sqs_lambda.consuming.delivery" in modules | names, (
            f"{relative} does not deliver through sqs_lambda.consuming.delivery"
        )
    # Lambda's response rules are written once: nothing else reads batchItemFailures to judge a response.
    readers = []
    for package in (RUNTIME, DEV, TESTKIT):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            if 'response["batchItemFailures"]' in text or 'response.get("batchItemFailures")' in text:
                readers.append(str(path.relative_to(ROOT)))
    assert readers == ["sqs_lambda/consuming/delivery.py"], readers


def test_no_package_assigns_to_a_router_from_outside_it() -> None:
    """A router's ports are given to it or passed in with an invocation (``router.handle(..., port=)``),
    never patched onto it by worker mode, the local runtime or the test kit."""
    offenders = []
    for package in (RUNTIME, DEV, TESTKIT):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "router.py" and path.parent.name == RUNTIME:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    owner = target.value if isinstance(target, ast.Attribute) else None
                    named = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                    if named and "router" in named.lower():
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_the_runtime_reads_its_environment_in_the_settings_module_only() -> None:
    """``os.environ`` and ``os.getenv`` appear in ``sqs_lambda/settings.py`` and nowhere else in the runtime."""
    readers = []
    for path in sorted((ROOT / RUNTIME).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            named = isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")
            if named or (isinstance(node, ast.Name) and node.id in ("environ", "getenv")):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers and all(reader.startswith(f"{RUNTIME}/settings.py:") for reader in readers), readers
