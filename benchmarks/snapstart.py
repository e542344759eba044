"""SnapStart, measured locally: what a restored environment's first batch costs with the router's
before-snapshot work done, against an on-demand cold start, in fresh processes, interleaved.

    python benchmarks/snapstart.py [--rounds 21]

- on-demand: import the function module, then handle the first 10-record batch (timed apart);
- SnapStart: import it with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` (the router registers its hooks
  through AWS's ``snapshot_restore_py``), run the before-snapshot hooks (what Lambda does before it takes
  the snapshot), then the after-restore hooks and the first batch (what a restored environment does).
Only AWS can measure the restore itself (loading the snapshot into a microVM); it is not in these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median
from coldstart import function_workdir

RUNNER = """
import json, sys, time
snap = {snap}
began = time.perf_counter()
import ours_fn as function
imported = time.perf_counter()
before = restore = 0.0
if snap:
    import snapshot_restore_py as hooks
    for hook in reversed(hooks.get_before_snapshot()):
        (hook[0] if isinstance(hook, tuple) else hook)()
    before = time.perf_counter() - imported
    restored = time.perf_counter()
    for hook in hooks.get_after_restore():
        (hook[0] if isinstance(hook, tuple) else hook)()
    restore = time.perf_counter() - restored
event = json.load(open({event!r}))
first = time.perf_counter()
assert function.lambda_handler(event, None) == {{"batchItemFailures": []}}
done = time.perf_counter()
print(json.dumps({{"import": imported - began, "before_snapshot": before, "after_restore": restore,
                  "first_batch": done - first}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    options = parser.parse_args()
    workdir, event_path = function_workdir("snapstart-", 10)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    variants = {
        "on-demand": (False, base),
        "SnapStart": (True, {**base, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}),
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for round_number in range(options.rounds + 2):
        for name, (snap, environment) in variants.items():
            code = RUNNER.format(snap=snap, event=str(event_path))
            run = subprocess.run(
                [sys.executable, "-c", code], cwd=workdir, env=environment, check=True, capture_output=True, text=True
            )
            if round_number >= 2:  # the first rounds write .pyc files and warm the page cache
                samples[name].append(json.loads(run.stdout))
    print(f"SnapStart, locally: fresh processes, 10-record first batch, median of {options.rounds} (ms)")
    print(f"{'variant':<12}{'import':>10}{'before snapshot':>18}{'after restore':>16}{'first batch':>14}")
    for name, runs in samples.items():
        values = [
            median([run[key] * 1000 for run in runs])
            for key in ("import", "before_snapshot", "after_restore", "first_batch")
        ]
        print(
            f"{name:<12}"
            + "".join(f"{value:>{width}.2f}" for value, width in zip(values, (10, 18, 16, 14), strict=True))
        )


if __name__ == "__main__":
    main()
