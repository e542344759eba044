"""``sqs-lambda new PATH``: a new app that deploys, runs locally and tests on the first try.

It writes a SAM template (one queue, its DLQ, one worker function, its log group), the library's layer
(a copy of the installed ``sqs_lambda`` package and its requirements, built by SAM's own Python build
method for the template's runtime and architecture), the worker with one job, a test with the test kit,
a demo script for ``sqs-lambda local --demo`` and a README. The files are text templates beside this
module (``files/``); ``--fifo`` and ``--django`` choose variants. Nothing is overwritten.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqs_lambda
from sqs_lambda.errors import ConfigurationError

FILES = Path(__file__).parent / "files"
RUNTIME_REQUIREMENTS = "aws-lambda-powertools>=3.30,<4\nmsgspec>=0.19,<1\n"


@dataclass(frozen=True)
class Options:
    name: str
    fifo: bool = False
    django: bool = False

    @property
    def values(self) -> dict[str, str]:
        suffix = ".fifo" if self.fifo else ""
        return {
            "name": self.name,
            "version": sqs_lambda.__version__,
            "queue": f"jobs{suffix}",
            "dlq": f"jobs-dlq{suffix}",
            "fifo_properties": "\n      FifoQueue: true\n      ContentBasedDeduplication: false" if self.fifo else "",
            "handler": "app.lambda_handler",
            "worker_requirements": "django>=4.2,<7\n" if self.django else "",
            "django_variables": (
                "\n          DJANGO_SETTINGS_MODULE: site_settings\n          SQS_LAMBDA_STAGE: !Ref Stage"
                if self.django
                else ""
            ),
            "group": ', group_id="tenant-1"' if self.fifo else "",
            "group_option": " --group tenant-1" if self.fifo else "",
            "fifo_event": ", fifo=True" if self.fifo else "",
        }


def _render(text: str, values: dict[str, str]) -> str:
    """``{{name}}`` placeholders (plain ``{`` stays, for the code and YAML in the files)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], text)


def plan(options: Options) -> dict[str, str]:
    """Relative path -> content of every file of the new app."""
    values = options.values
    files: dict[str, str] = {}
    for source in sorted(FILES.rglob("*.tmpl")):
        relative = source.relative_to(FILES).as_posix().removesuffix(".tmpl").replace("dot-", ".")
        variant, _, path = relative.partition("/")
        wanted = {"common": True, "django": options.django, "plain": not options.django}
        if wanted.get(variant, False):
            files[path] = _render(source.read_text(), values)
    files["layer/requirements.txt"] = RUNTIME_REQUIREMENTS
    return files


def create(path: Path, *, fifo: bool = False, django: bool = False, layer_only: bool = False) -> list[str]:
    """Write the new app at ``path`` (which must not hold files yet); returns the files written.
    ``layer_only`` refreshes an existing app's layer with the installed sqs-lambda instead."""
    if layer_only:
        if not (path / "layer").is_dir():
            raise ConfigurationError(f"{path / 'layer'} does not exist: --layer-only refreshes an app's layer")
        shutil.rmtree(path / "layer" / "sqs_lambda", ignore_errors=True)
        copy_library(path / "layer")
        (path / "layer" / "requirements.txt").write_text(RUNTIME_REQUIREMENTS)
        return ["layer/sqs_lambda/", "layer/requirements.txt"]
    if path.exists() and any(path.iterdir()):
        raise ConfigurationError(f"{path} is not empty: sqs-lambda new writes a new app into an empty directory")
    name = re.sub(r"[^a-z0-9-]+", "-", path.resolve().name.lower()).strip("-") or "app"
    files = plan(Options(name=name, fifo=fifo, django=django))
    for relative, content in files.items():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    copy_library(path / "layer")
    return [*files, "layer/sqs_lambda/"]


def copy_library(layer: Path) -> None:
    """The installed runtime package, as the layer's content (caches left out)."""
    source = Path(sqs_lambda.__file__).parent
    shutil.copytree(source, layer / "sqs_lambda", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
