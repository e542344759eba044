"""Producer throughput: 2,000 jobs per variant against the same SQS endpoint, in one run.

    python benchmarks/producer.py [--jobs 2000] [--round 200] [--endpoint-url URL]

Variants: a naive ``send_message`` loop; sqs-workers' ``add_batch`` (JSON codec); our ``batch()``;
our ``send_many`` with 4 threads. Each variant gets a fresh queue. moto (the default, embedded) is
O(queue depth) per call, so every variant sends in rounds of ``--round`` jobs, each round into a fresh
queue created untimed: all variants are measured at the same moderate depth. With ``--endpoint-url``
(e.g. LocalStack) use ``--round 0`` to send everything into one queue. Prints msgs/s, the ratio to the
naive loop, and SQS send requests per message (counted with botocore event hooks).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, sqs_endpoint, table

from sqs_lambda import aws
from sqs_lambda.producing.producer import Producer

SEND_OPERATIONS = ("SendMessage", "SendMessageBatch")


def count_requests(client: Any, counter: dict[str, int]) -> None:
    for operation in SEND_OPERATIONS:
        client.meta.events.register(
            f"before-call.sqs.{operation}", lambda **kw: counter.__setitem__("n", counter["n"] + 1)
        )


def run_variant(
    name: str, send_round: Callable[[str, range], None], jobs: int, round_size: int, counter: dict[str, int]
) -> tuple[float, int]:
    """Send ``jobs`` jobs in rounds, each into a fresh queue (created untimed), so depth stays moderate."""
    sqs = aws.client("sqs")
    counter["n"] = 0
    elapsed = 0.0
    size = round_size or jobs
    for start in range(0, jobs, size):
        url = sqs.create_queue(QueueName=f"bench-{name.split()[0]}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        numbers = range(start, min(jobs, start + size))
        began = time.perf_counter()
        send_round(url, numbers)
        elapsed += time.perf_counter() - began
        sqs.delete_queue(QueueUrl=url)
    return jobs / elapsed, counter["n"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--round", type=int, default=200)
    parser.add_argument("--endpoint-url")
    parser.add_argument("--repeat", type=int, default=3, help="whole comparisons; medians are printed")
    options = parser.parse_args()
    with sqs_endpoint(options.endpoint_url) as url:
        run(options, url)


def run(options: argparse.Namespace, url: str) -> None:
    counter = {"n": 0}
    count_requests(aws.client("sqs"), counter)
    import boto3
    from sqs_workers import SQSEnv

    naive_client = aws.client("sqs")
    workers_resource = boto3.resource("sqs", endpoint_url=url, region_name="us-east-1")
    count_requests(workers_resource.meta.client, counter)
    workers_env = SQSEnv(
        session=boto3.session.Session(region_name="us-east-1"),
        codec="json",
        sqs_client=naive_client,
        sqs_resource=workers_resource,
    )

    def naive(queue_url: str, numbers: range) -> None:
        for n in numbers:
            naive_client.send_message(QueueUrl=queue_url, MessageBody=f'{{"file_id": "{n}"}}')

    def sqs_workers(queue_url: str, numbers: range) -> None:
        queue = workers_env.queue(queue_url.rsplit("/", 1)[-1])
        try:
            task = queue.get_processor("process_file")
        except Exception:
            task = None
        task = task or queue.connect_processor("process_file", lambda file_id: None)
        with queue.add_batch():
            for n in numbers:
                task.delay(file_id=str(n))

    producers: dict[str, Producer] = {}

    def producer(queue_url: str) -> Producer:
        if queue_url not in producers:
            producers[queue_url] = Producer(queue_url)
        return producers[queue_url]

    def ours_batch(queue_url: str, numbers: range) -> None:
        jobs = producer(queue_url)
        with jobs.batch():
            for n in numbers:
                jobs.send("process_file", file_id=str(n))

    def ours_many(queue_url: str, numbers: range) -> None:
        producer(queue_url).send_many([("process_file", {"file_id": str(n)}) for n in numbers], concurrency=4)

    variants = {
        "naive send_message loop": naive,
        "sqs-workers add_batch": sqs_workers,
        "sqs-lambda batch()": ours_batch,
        "sqs-lambda send_many x4": ours_many,
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    requests: dict[str, int] = {}
    for _ in range(options.repeat):  # interleaved, so machine noise hits every variant alike
        for name, send_round in variants.items():
            rate, count = run_variant(name, send_round, options.jobs, options.round, counter)
            samples[name].append(rate)
            requests[name] = count
    rates = {name: median(values) for name, values in samples.items()}
    print(
        table(
            f"producer: {options.jobs} jobs per variant at {url} (rounds of {options.round or 'all'}), "
            f"median of {options.repeat}",
            "msgs/s",
            rates,
            "naive send_message loop",
        )
    )
    print()
    for name, count in requests.items():
        print(f"{name:<34}{count / options.jobs:>8.2f} send requests per message")
    ours = rates["sqs-lambda batch()"]
    print(
        f"\nbatch() / naive = {ours / rates['naive send_message loop']:.2f} (target >= 8), "
        f"batch() / sqs-workers = {ours / rates['sqs-workers add_batch']:.2f} (target >= 1.0), "
        f"send_many / naive = {rates['sqs-lambda send_many x4'] / rates['naive send_message loop']:.2f}"
    )


if __name__ == "__main__":
    main()
