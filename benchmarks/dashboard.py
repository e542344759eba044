"""The job inspector's cost, in the same run as what it is compared with.

    python benchmarks/dashboard.py [--queues 50] [--rounds 15] [--messages 500] [--repeat 3]

1. The overview of ``--queues`` queues (half of them DLQs) over HTTP, its cache cold each time (one
   ``GetQueueAttributes(All)`` per queue, concurrently), against the same calls made one after another
   by a single client. Goal: under 300 ms.
2. ``sqs-lambda local``'s end-to-end throughput (no-op jobs, as ``benchmarks/local.py``) with the
   dashboard served and a browser-like client refreshing the overview at the page's own rate (every
   2 s) and at four times it (0.5 s), against the same run with no dashboard, and with no journal
   either (the event stream ``sqs-lambda local`` now keeps); interleaved.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, sqs_endpoint, table
from local import through_runtime

from sqs_lambda import aws
from sqs_lambda.aws import AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda_dev.dashboard import serve_local
from sqs_lambda_dev.dashboard.app import create_app
from sqs_lambda_dev.dashboard.inspector import for_local
from sqs_lambda_dev.dashboard.server import DashboardServer
from sqs_lambda_dev.local.runtime import LocalRuntime


def get(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.perf_counter() - began


def overview(endpoint: str, queues: int, rounds: int, workdir: Path) -> dict[str, float]:
    sqs = aws.client("sqs")
    stage = uuid.uuid4().hex[:6]
    urls = []
    for n in range(queues // 2):
        dlq = sqs.create_queue(QueueName=f"{stage}-q{n}-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
        urls += [dlq, sqs.create_queue(QueueName=f"{stage}-q{n}", Attributes={"RedrivePolicy": policy})["QueueUrl"]]
        sqs.send_message(QueueUrl=urls[-1], MessageBody="{}")
    backend = AwsSqs(config=AwsConfig(endpoint_url=endpoint, region="us-east-1"))
    inspector = for_local(backend, lambda: urls, workdir, dict, ttl=0)  # ttl 0: every render reads SQS
    server = DashboardServer(create_app(inspector))
    server.start()
    try:
        get(server.url)  # warm: connections, templates
        page = [get(server.url) for _ in range(rounds)]
        fragment = [get(server.url + "fragments/queues") for _ in range(rounds)]
        sequential = []
        for _ in range(rounds):
            began = time.perf_counter()
            for url in urls:
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            sequential.append(time.perf_counter() - began)
    finally:
        server.stop()
    return {
        f"{len(urls)} x GetQueueAttributes, in turn": median(sequential),
        "overview page (GET /)": median(page),
        "overview rows (htmx refresh)": median(fragment),
    }


def refreshing(every: float) -> Callable[[LocalRuntime], Callable[[], None]]:
    """The dashboard served beside a runtime, with a client reloading its overview rows ``every`` s."""

    def start(runtime: LocalRuntime) -> Callable[[], None]:
        server = serve_local(runtime)
        stop = threading.Event()

        def reload() -> None:
            while not stop.wait(every):
                get(server.url + "fragments/queues")

        threading.Thread(target=reload, daemon=True).start()

        def finish() -> None:
            stop.set()
            server.stop()

        return finish

    return start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with sqs_endpoint(None) as endpoint, tempfile.TemporaryDirectory() as workdir:
        times = overview(endpoint, options.queues, options.rounds, Path(workdir))
        baseline = next(iter(times))
        print(table(f"overview of {options.queues} queues, median of {options.rounds}", "ms", times, baseline, 1000))
        variants = {
            "no journal, no dashboard": (None, False),
            "dashboard closed": (None, True),
            "open, refreshing every 2 s": (2.0, True),
            "open, refreshing every 0.5 s": (0.5, True),
        }
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(options.repeat):  # interleaved, so drift hits each alike
            for name, (refresh, journal) in variants.items():
                with tempfile.TemporaryDirectory() as run_directory:
                    alongside = refreshing(refresh) if refresh is not None else None
                    rate = through_runtime(
                        options.messages, endpoint, Path(run_directory), journal=journal, alongside=alongside
                    )
                    rates[name].append(rate)
        medians = {name: median(values) for name, values in rates.items()}
        print()
        print(
            table(
                f"sqs-lambda local, {options.messages} no-op jobs, median of {options.repeat}",
                "msgs/s",
                medians,
                "dashboard closed",
            )
        )


if __name__ == "__main__":
    main()
