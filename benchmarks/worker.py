"""Worker mode throughput: no-op jobs drained by ``sqs_lambda.worker.Worker`` against sqs-workers'
``process_queue`` on the same engine, in one run.

    python benchmarks/worker.py [--jobs 2000] [--repeat 3] [--endpoint-url http://127.0.0.1:4566]

Both sides start from a queue filled (untimed) with ``--jobs`` messages in their own format, and are timed
until they have handled every one: one poller each (sqs-workers' ``process_queue`` is one loop), long
polls, batches of 10, successes deleted in batches. A row with 4 poller threads shows what
``--concurrency`` adds. Medians of ``--repeat`` runs, interleaved.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, sqs_endpoint, table

from sqs_lambda import Router, aws
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.producing.producer import Producer
from sqs_lambda.worker import Shutdown, Worker


def fresh_queue(name: str) -> str:
    sqs = aws.client("sqs")
    return str(sqs.create_queue(QueueName=f"bw-{name}-{uuid.uuid4().hex[:8]}")["QueueUrl"])


def ours(jobs: int, endpoint: str, concurrency: int) -> float:
    url = fresh_queue("ours")
    router = Router(queue_url=url)
    router.job("noop")(lambda n: None)
    Producer(url, router=router).send_many([("noop", {"n": n}) for n in range(jobs)])
    backend = AwsSqs(endpoint_url=endpoint, region="us-east-1")
    worker = Worker(router, url, backend=backend, wait=1, concurrency=concurrency, shutdown=Shutdown("after", jobs))
    began = time.perf_counter()
    worker.run()
    elapsed = time.perf_counter() - began
    assert worker.succeeded == jobs, (worker.succeeded, jobs)
    aws.client("sqs").delete_queue(QueueUrl=url)
    return jobs / elapsed


def theirs(jobs: int, endpoint: str) -> float:
    import boto3
    from sqs_workers import SQSEnv
    from sqs_workers.shutdown_policies import MaxTasksShutdown

    url = fresh_queue("sqs-workers")
    env = SQSEnv(
        session=boto3.session.Session(region_name="us-east-1"),
        codec="json",
        sqs_client=aws.client("sqs"),
        sqs_resource=boto3.resource("sqs", endpoint_url=endpoint, region_name="us-east-1"),
    )
    queue = env.queue(url.rsplit("/", 1)[-1])
    task = queue.connect_processor("noop", lambda n: None)
    with queue.add_batch():
        for n in range(jobs):
            task.delay(n=n)
    began = time.perf_counter()
    queue.process_queue(shutdown_policy=MaxTasksShutdown(jobs), wait_second=1)
    elapsed = time.perf_counter() - began
    aws.client("sqs").delete_queue(QueueUrl=url)
    return jobs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint-url")
    options = parser.parse_args()
    with sqs_endpoint(options.endpoint_url) as endpoint:
        samples: dict[str, list[float]] = {
            "sqs-workers process_queue": [],
            "sqs-lambda worker": [],
            "sqs-lambda worker x4": [],
        }
        for _ in range(options.repeat):
            samples["sqs-workers process_queue"].append(theirs(options.jobs, endpoint))
            samples["sqs-lambda worker"].append(ours(options.jobs, endpoint, 1))
            samples["sqs-lambda worker x4"].append(ours(options.jobs, endpoint, 4))
        rates = {name: median(values) for name, values in samples.items()}
        title = f"worker mode: {options.jobs} no-op jobs at {endpoint}, median of {options.repeat}"
        print(table(title, "msgs/s", rates, "sqs-workers process_queue"))
        ratio = rates["sqs-lambda worker"] / rates["sqs-workers process_queue"]
        print(f"\nsqs-lambda worker / sqs-workers (one poller each) = {ratio:.2f} (target >= 1.0)")


if __name__ == "__main__":
    main()
