"""SendMessageBatch latency by queue depth: the embedded engine (moto, patched) against moto as shipped.

    python benchmarks/engine.py [--depth 10000] [--batches 50] [--plain-depth 2000]

For each engine: the median latency of a 10-entry SendMessageBatch into an empty queue, and into one
that already holds ``--depth`` messages (moto as shipped is measured at ``--plain-depth``: filling it to
10,000 takes minutes, which is the point). Prints medians and the deep/empty ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median

from sqs_lambda.aws import LOCAL_KEY_PAIR
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda_dev.engine.moto_server import EmbeddedEngine, free_port, is_ready


def entries(prefix: str) -> list[dict[str, Any]]:
    return [{"Id": str(i), "MessageBody": f"{prefix}-{i}"} for i in range(10)]


def latency(backend: AwsSqs, url: str, batches: int) -> float:
    times = []
    for n in range(batches):
        started = time.perf_counter()
        backend.send_batch(url, entries(f"t{n}"))
        times.append(time.perf_counter() - started)
    return median(times) * 1000


def measure(url: str, depth: int, batches: int) -> tuple[float, float]:
    backend = AwsSqs(endpoint_url=url, region="us-east-1", credentials=LOCAL_KEY_PAIR)
    client = backend.client()
    empty = client.create_queue(QueueName=f"empty-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    deep = client.create_queue(QueueName=f"deep-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for n in range(depth // 10):  # fill (untimed)
        backend.send_batch(deep, entries(f"f{n}"))
    return latency(backend, empty, batches), latency(backend, deep, batches)


def plain_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while not is_ready(url):
        time.sleep(0.05)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=10_000)
    parser.add_argument("--plain-depth", type=int, default=2_000)
    parser.add_argument("--batches", type=int, default=50)
    options = parser.parse_args()
    print(f"SendMessageBatch of 10, median of {options.batches}, ms")
    print(f"{'engine':<36}{'empty':>10}{'deep':>10}{'depth':>8}   deep/empty")
    with EmbeddedEngine() as engine:
        empty, deep = measure(engine.url, options.depth, options.batches)
    print(f"{'embedded (moto, patched)':<36}{empty:>10.2f}{deep:>10.2f}{options.depth:>8}   {deep / empty:.2f}")
    process, url = plain_moto()
    try:
        empty, deep = measure(url, options.plain_depth, options.batches)
    finally:
        process.terminate()
        process.wait(10)
    print(f"{'moto as shipped':<36}{empty:>10.2f}{deep:>10.2f}{options.plain_depth:>8}   {deep / empty:.2f}")


if __name__ == "__main__":
    main()
