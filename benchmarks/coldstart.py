"""Cold start: a fresh process imports a minimal function module and handles its first 10-record batch.

    python benchmarks/coldstart.py [--rounds 21]

Variants, interleaved round by round so noise hits them alike:
- sqs-lambda: a module with a Router and two no-op jobs with typed arguments;
- powertools: a minimal BatchProcessor module (``record.json_body`` + dict dispatch);
- ``python -c pass``: the interpreter alone.
The sqs-lambda process also asserts that boto3 is absent from ``sys.modules`` afterwards. Bytecode is
compiled for every variant first, as pip does when it installs a function's dependencies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, table

OURS = """
from sqs_lambda import Router

router = Router()


@router.job()
def process_file(file_id: str, force: bool = False) -> None:
    return None


@router.job()
def send_email(to: str, subject: str, body: str = "") -> None:
    return None


lambda_handler = router.lambda_handler
"""

POWERTOOLS = """
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

processor = BatchProcessor(event_type=EventType.SQS)


def process_file(file_id, force=False):
    return None


def send_email(to, subject, body=""):
    return None


HANDLERS = {"process_file": process_file, "send_email": send_email}


def record_handler(record):
    body = record.json_body
    HANDLERS[body["job"]](**body["kwargs"])


def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor)
"""

RUNNER = """
import json, sys, time
started = time.perf_counter()
import {module} as function
event = json.load(open({event!r}))
response = function.lambda_handler(event, None)
assert response == {{"batchItemFailures": []}}, response
if {check_boto3}:
    assert "boto3" not in sys.modules, "boto3 was imported"
"""


def function_workdir(prefix: str, records: int) -> tuple[Path, Path]:
    """A directory with both function modules (``ours_fn``, ``powertools_fn``) and an event of
    ``records`` ``process_file`` records; returns it and the event's path."""
    from sqs_lambda_testing import sqs_event

    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    (workdir / "ours_fn.py").write_text(OURS)
    (workdir / "powertools_fn.py").write_text(POWERTOOLS)
    event_path = workdir / "event.json"
    event_path.write_text(json.dumps(sqs_event(*[("process_file", {"file_id": str(i)}) for i in range(records)])))
    return workdir, event_path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    options = parser.parse_args()
    workdir, event_path = function_workdir("coldstart-", 10)
    commands = {
        "sqs-lambda function": [
            sys.executable,
            "-c",
            RUNNER.format(module="ours_fn", event=str(event_path), check_boto3=True),
        ],
        "powertools function": [
            sys.executable,
            "-c",
            RUNNER.format(module="powertools_fn", event=str(event_path), check_boto3=False),
        ],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    import compileall
    import os
    import time

    import sqs_lambda

    # Lambda code is pip-installed, and pip compiles bytecode: give every variant its .pyc files, even
    # where PYTHONDONTWRITEBYTECODE is set (it is on this machine), so nobody pays for compiling.
    compileall.compile_dir(str(Path(sqs_lambda.__file__).parent), quiet=1)
    compileall.compile_dir(str(workdir), quiet=1)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(options.rounds + 2):
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, cwd=workdir, check=True, env=environment)
            if round_number >= 2:  # the first rounds write .pyc files and warm the page cache
                samples[name].append(time.perf_counter() - started)
    medians = {name: median(times) for name, times in samples.items()}
    print(
        table(
            f"cold start: fresh process, import + first 10-record batch, {options.rounds} rounds",
            "ms",
            medians,
            "powertools function",
            scale=1e3,
        )
    )
    ratio = medians["sqs-lambda function"] / medians["powertools function"]
    print(f"\nsqs-lambda / powertools = {ratio:.2f} (target <= 1.1); boto3 not imported: asserted")
    bare = medians["python -c pass"]
    print(
        f"over the bare interpreter: sqs-lambda +{(medians['sqs-lambda function'] - bare) * 1e3:.1f} ms, "
        f"powertools +{(medians['powertools function'] - bare) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
