"""P6, peak memory: a fresh process imports a one-job function and handles one 10,000-record batch.

    python benchmarks/memory.py [--records 10000] [--rounds 7]

Peak resident memory (``VmHWM``) of the whole process, event included (the same event for both),
for sqs-lambda and for the minimal Powertools ``BatchProcessor`` function of ``coldstart.py``,
interleaved round by round; medians and the ratio are printed. Run it against another checkout by
putting that checkout first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median
from coldstart import function_workdir

RUNNER = """
import json
import {module} as function
event = json.load(open({event!r}))
response = function.lambda_handler(event, None)
assert response == {{"batchItemFailures": []}}, response
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent that forked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    workdir, event = function_workdir("memory-", options.records)
    samples: dict[str, list[float]] = {"sqs-lambda function": [], "powertools function": []}
    for _ in range(options.rounds):
        for name, module in (("sqs-lambda function", "ours_fn"), ("powertools function", "powertools_fn")):
            code = RUNNER.format(module=module, event=str(event))
            done = subprocess.run([sys.executable, "-c", code], cwd=workdir, check=True, capture_output=True, text=True)
            samples[name].append(int(done.stdout.split()[-1]) / 1024)  # KiB -> MiB
    ours, theirs = median(samples["sqs-lambda function"]), median(samples["powertools function"])
    print(f"peak RSS, import + one {options.records:,}-record batch, {options.rounds} rounds (medians)")
    print(f"sqs-lambda function   {ours:8.1f} MiB")
    print(f"powertools function   {theirs:8.1f} MiB")
    print(f"sqs-lambda / powertools = {ours / theirs:.3f} (goal <= 1.0)")


if __name__ == "__main__":
    main()
