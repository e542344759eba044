"""µs per record on a 10,000-record SQS event with no-op jobs, three ways, in one run.

    python benchmarks/dispatch.py [--records 10000] [--rounds 15]

- sqs-lambda: ``router.lambda_handler`` (envelope decode, msgspec validation, its own batch loop)
- powertools: ``BatchProcessor`` + ``process_partial_response`` with ``record.json_body`` + dict dispatch
- hand loop: ``json.loads`` + dict dispatch + try/except, building batchItemFailures by hand
Rounds are interleaved so that machine noise hits every variant alike; medians and ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, repeat, table
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from sqs_lambda import Router
from sqs_lambda_testing import sqs_event

router = Router()


@router.job()
def process_file(file_id: str, force: bool = False) -> None:
    return None


def noop(**kwargs: Any) -> None:
    return None


HANDLERS = {"process_file": noop}
processor = BatchProcessor(event_type=EventType.SQS)


def powertools_record(record: Any) -> None:
    body = record.json_body
    HANDLERS[body["job"]](**body["kwargs"])


def powertools_handler(event: dict[str, Any]) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=powertools_record, processor=processor)


def hand_loop(event: dict[str, Any]) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
            HANDLERS[body["job"]](**body["kwargs"])
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    event = sqs_event(*[("process_file", {"file_id": str(i)}) for i in range(options.records)])
    variants = {
        "sqs-lambda router": lambda: router.lambda_handler(event, None),
        "powertools BatchProcessor": lambda: powertools_handler(event),
        "hand-written loop": lambda: hand_loop(event),
    }
    for run in variants.values():  # warm up (schemas, caches)
        assert run() == {"batchItemFailures": []}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(options.rounds):
        for name, run in variants.items():
            samples[name] += repeat(run, 1)
    per_record = {name: median(times) / options.records for name, times in samples.items()}
    print(
        table(
            f"dispatch: {options.records} records, {options.rounds} rounds",
            "µs/record",
            per_record,
            "powertools BatchProcessor",
            scale=1e6,
        )
    )
    ours = per_record["sqs-lambda router"]
    print(f"\nsqs-lambda / powertools = {ours / per_record['powertools BatchProcessor']:.2f} (target <= 1.0)")
    print(f"sqs-lambda / hand loop  = {ours / per_record['hand-written loop']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
