"""Invocation latency of the local runtime's execution environments: cold and warm, against the
in-process call of the previous runtime and a fresh process per invocation (what ``sam local invoke``
does without a warm container), measured in the same run.

    python benchmarks/environments.py [--rounds 20]

The function is a router with one no-op job and a one-record SQS event; the environment is created
through :class:`FunctionPool`, as ``sqs-lambda local`` does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import NOOP_APP as APP
from _stats import median

from sqs_lambda_dev.events import lambda_context, sqs_event
from sqs_lambda_dev.local.environments import FunctionPool
from sqs_lambda_dev.local.functions import FunctionSpec, import_handler

FRESH_PROCESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps(app.lambda_handler(json.loads(sys.stdin.read()), None)))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    event = sqs_event(("noop", {"n": 1}))
    with tempfile.TemporaryDirectory() as directory:
        code = Path(directory)
        (code / "app.py").write_text(APP)
        spec = FunctionSpec(logical_id="Fn", name="bench", code_dir=code, handler="app.lambda_handler", timeout=30)
        cold, warm = [], []
        for _ in range(options.rounds):
            pool = FunctionPool(spec, environment={}, region="us-east-1")
            try:
                for index in range(6):  # one cold invocation, then five warm ones
                    started = time.perf_counter()
                    outcome = pool.invoke(event)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert outcome.response == {"batchItemFailures": []}, outcome
                    (cold if index == 0 else warm).append(elapsed)
            finally:
                pool.close()
        handler = import_handler("Fn", code, "app.lambda_handler")
        in_process = []
        for _ in range(options.rounds * 5):
            started = time.perf_counter()
            handler(event, lambda_context())
            in_process.append((time.perf_counter() - started) * 1000)
        fresh = []
        for _ in range(options.rounds):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", FRESH_PROCESS, str(code)],
                input=json.dumps(event),
                text=True,
                capture_output=True,
                check=True,
            )
            fresh.append((time.perf_counter() - started) * 1000)
    results = {
        "environment, cold (spawn + init + invoke)": median(cold),
        "environment, warm": median(warm),
        "in process (the 0.1 runtime)": median(in_process),
        "fresh process per invocation": median(fresh),
    }
    print(f"invocation latency, one-record SQS event, median of {options.rounds} (warm: of {len(warm)})")
    print(f"{'variant':<44}{'median ms':>12}   ratio vs warm")
    for name, value in results.items():
        print(f"{name:<44}{value:>12.2f}   {value / results['environment, warm']:.2f}")


if __name__ == "__main__":
    main()
