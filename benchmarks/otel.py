"""What OpenTelemetry costs per record: off (nothing imported), the API imported without a provider (the
``otel`` extra installed, tracing not configured), and on (the SDK with a span processor whose exporter
drops everything, so only the spans' own cost is measured).

    python benchmarks/otel.py [--records 10000] [--rounds 9] [--pairs 3]

Each variant runs in a fresh process (an imported module cannot be un-imported), ``--pairs`` times,
interleaved; each process times ``router.lambda_handler`` on the dispatch benchmark's event (no-op
jobs) ``--rounds`` times and reports its median. Printed: the median of those medians per record, and
ratios to "off".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, statistics, sys, time
variant, records, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if variant != "off":
    import opentelemetry.trace  # the API, as an application that uses it has it imported
if variant == "on":
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    opentelemetry.trace.set_tracer_provider(provider)
from sqs_lambda import Router
from sqs_lambda_testing import sqs_event
router = Router()

@router.job()
def process_file(file_id: str, force: bool = False) -> None:
    return None

event = sqs_event(*[("process_file", {"file_id": str(i)}) for i in range(records)])
assert router.lambda_handler(event, None) == {"batchItemFailures": []}
times = []
for _ in range(rounds):
    started = time.perf_counter()
    router.lambda_handler(event, None)
    times.append(time.perf_counter() - started)
print(json.dumps(statistics.median(times) / records))
"""

VARIANTS = ("off", "API imported, no provider", "on (SDK, spans dropped)")
KEYS = {"off": "off", "API imported, no provider": "api", "on (SDK, spans dropped)": "on"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--pairs", type=int, default=3)
    options = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(options.pairs):
        for name in VARIANTS:
            arguments = [KEYS[name], str(options.records), str(options.rounds)]
            done = subprocess.run(
                [sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, check=True, cwd=Path("/")
            )
            samples[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = statistics.median(samples["off"])
    print(f"{options.records} records, {options.rounds} rounds per process, {options.pairs} processes per variant")
    print(f"{'variant':<30}{'median µs/record':>18}   ratio vs off   per-process medians")
    for name, values in samples.items():
        value = statistics.median(values)
        runs = ", ".join(f"{v * 1e6:.2f}" for v in values)
        print(f"{name:<30}{value * 1e6:>18.3f}   {value / base:>12.2f}   {runs}")


if __name__ == "__main__":
    main()
