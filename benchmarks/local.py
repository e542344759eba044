"""Local runtime throughput: no-op jobs end to end through the local runtime, against the engine's raw
receive + delete drain rate, measured in the same run at the same queue depth.

    python benchmarks/local.py [--messages 500] [--repeat 3] [--endpoint-url URL]

Both sides start from a queue pre-filled (untimed) with ``--messages`` envelopes. The raw drain is one
client doing ReceiveMessage(10) + DeleteMessageBatch until the queue is empty. The runtime side runs a
one-function template (BatchSize 10, MaximumConcurrency 2) through the real trigger emulation and
``lambda_handler``, timed until the queue is empty. moto is O(queue depth): keep ``--messages`` moderate,
or pass a LocalStack ``--endpoint-url`` for larger runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import NOOP_APP as APP
from _stats import median, sqs_endpoint, table

from sqs_lambda import aws
from sqs_lambda.producing.producer import Producer
from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function


def fill(url: str, count: int) -> None:
    Producer(url).send_many([("noop", {"n": n}) for n in range(count)], concurrency=1)


def raw_drain(count: int) -> float:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"raw-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    fill(url, count)
    began = time.perf_counter()
    drained = 0
    while drained < count:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            drained += len(messages)
    rate = count / (time.perf_counter() - began)
    sqs.delete_queue(QueueUrl=url)
    return rate


def through_runtime(
    count: int,
    endpoint: str,
    workdir: Path,
    *,
    journal: bool = True,
    alongside: Callable[[LocalRuntime], Callable[[], None]] | None = None,
) -> float:
    """End-to-end msgs/s of a one-function template; ``alongside(runtime)`` starts something that runs
    beside it (the dashboard's benchmark) and returns how to stop it."""
    stage = f"b{uuid.uuid4().hex[:6]}"
    template = sam_template(
        {
            **queue_with_dlq("Jobs", queue_name=f"{stage}-jobs", visibility=60),
            "Fn": sqs_function("app.lambda_handler", "Jobs", BatchSize=10, ScalingConfig={"MaximumConcurrency": 2}),
        }
    )
    (workdir / "src").mkdir(exist_ok=True)
    (workdir / "src" / "app.py").write_text(APP)
    (workdir / "template.yaml").write_text(json.dumps(template))
    runtime = LocalRuntime(
        RuntimeOptions(
            template=workdir / "template.yaml", endpoint_url=endpoint, state_dir=workdir / ".state", journal=journal
        )
    )
    runtime.start()
    stop = alongside(runtime) if alongside is not None else None
    try:
        url = runtime.resources.queue_urls["Jobs"]
        fill(url, count)
        began = time.perf_counter()
        runtime.run_background()
        trigger = next(iter(runtime.triggers.values()))
        while trigger.stats.succeeded < count:
            time.sleep(0.01)
        return count / (time.perf_counter() - began)
    finally:
        if stop is not None:
            stop()
        runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint-url")
    options = parser.parse_args()
    with sqs_endpoint(options.endpoint_url) as endpoint:
        run(options, endpoint)


def run(options: argparse.Namespace, endpoint: str) -> None:
    samples: dict[str, list[float]] = {"engine raw receive+delete": [], "sqs-lambda local (end to end)": []}
    for _ in range(options.repeat):
        samples["engine raw receive+delete"].append(raw_drain(options.messages))
        with tempfile.TemporaryDirectory() as workdir:
            samples["sqs-lambda local (end to end)"].append(through_runtime(options.messages, endpoint, Path(workdir)))
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            aws.reset()
    rates = {name: median(values) for name, values in samples.items()}
    print(
        table(
            f"local runtime: {options.messages} no-op jobs at {endpoint}, median of {options.repeat}",
            "msgs/s",
            rates,
            "engine raw receive+delete",
        )
    )
    ratio = rates["sqs-lambda local (end to end)"] / rates["engine raw receive+delete"]
    print(f"\nlocal runtime / raw drain = {ratio:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
