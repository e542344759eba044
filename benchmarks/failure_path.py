"""The failure path's cold cost: a rejected record's DLQ copy in a fresh execution environment, with and
without ``SQS_LAMBDA_PREWARM`` (the client and the queue's and DLQ's facts read at init), in the same run.

    python benchmarks/failure_path.py [--rounds 15]

Each round starts fresh environments (processes running ``awslambdaric``, as ``sqs-lambda local`` does)
against the embedded engine, and invokes each with one record whose job raises ``Reject``: the invocation
copies it to the DLQ with its reason. Reported: the invocation's duration (what counts against the
function's timeout) and the init duration (what prewarming moves there); a warm invocation for reference.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median

from sqs_lambda import Producer
from sqs_lambda.aws import AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.consuming import delivery
from sqs_lambda_dev.engine.moto_server import ENDPOINT_VARIABLES, LOCAL_CREDENTIALS, EmbeddedEngine
from sqs_lambda_dev.local.environments import FunctionPool
from sqs_lambda_dev.local.functions import FunctionSpec

APP = """
from sqs_lambda import Reject, Router

router = Router()


@router.job()
def refuse(n: int) -> None:
    raise Reject("not this one")


lambda_handler = router.lambda_handler
"""


def invoke_once(pool: FunctionPool, port: AwsSqs, queue: str, arn: str, reports: list[dict[str, Any]]) -> None:
    Producer(queue, backend=port).send("refuse", n=1)
    messages = port.receive(queue, max_messages=1, wait_seconds=5)
    outcome = pool.invoke({"Records": delivery.records_of(messages, arn)})
    assert outcome.response == {"batchItemFailures": []}, outcome  # copied to the DLQ, then deleted
    assert reports and reports[-1]["status"] == "success"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    engine = EmbeddedEngine()
    endpoint = engine.start()
    try:
        port = AwsSqs(config=AwsConfig(endpoint_url=endpoint, region="us-east-1", credentials=("testing", "testing")))
        client = port.client()
        dlq = client.create_queue(QueueName="bench-dlq")["QueueUrl"]
        dlq_arn = port.queue_info(url=dlq).arn
        redrive = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "5"}}'
        queue = client.create_queue(QueueName="bench", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        arn = port.queue_info(url=queue).arn
        base = {**{name: endpoint for name in ENDPOINT_VARIABLES}, **LOCAL_CREDENTIALS, "SQS_LAMBDA_QUEUE_URL": queue}
        variants = {"cold, as today": {}, "cold, SQS_LAMBDA_PREWARM=true": {"SQS_LAMBDA_PREWARM": "true"}}
        durations: dict[str, list[float]] = {name: [] for name in [*variants, "warm (reference)"]}
        inits: dict[str, list[float]] = {name: [] for name in variants}
        with tempfile.TemporaryDirectory() as directory:
            code = Path(directory)
            (code / "app.py").write_text(APP)
            spec = FunctionSpec(logical_id="Fn", name="bench", code_dir=code, handler="app.lambda_handler", timeout=30)
            for _ in range(options.rounds):
                for name, extra in variants.items():  # interleaved, round by round
                    reports: list[dict[str, Any]] = []
                    pool = FunctionPool(
                        spec,
                        environment={**base, **extra},
                        region="us-east-1",
                        on_event=lambda kind, data, reports=reports: reports.append(data) if kind == "report" else None,
                    )
                    try:
                        invoke_once(pool, port, queue, arn, reports)
                        durations[name].append(reports[-1]["duration_ms"])
                        inits[name].append(reports[-1]["init_ms"])
                        if not extra:
                            invoke_once(pool, port, queue, arn, reports)
                            durations["warm (reference)"].append(reports[-1]["duration_ms"])
                    finally:
                        pool.close()
        assert port.counts(dlq).total == options.rounds * 3  # every record reached the DLQ
    finally:
        engine.stop()
    cold = median(durations["cold, as today"])
    print(f"a rejected record's invocation (its DLQ copy included), median of {options.rounds}")
    print(f"{'variant':<34}{'invoke ms':>11}{'init ms':>10}   invoke ratio vs today")
    for name, values in durations.items():
        init = f"{median(inits[name]):>10.1f}" if name in inits else f"{'-':>10}"
        print(f"{name:<34}{median(values):>11.1f}{init}   {median(values) / cold:.2f}")


if __name__ == "__main__":
    main()
