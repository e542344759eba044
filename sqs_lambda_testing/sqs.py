"""Helpers over a real SQS endpoint (the embedded moto server, or any other) for tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqs_lambda.aws import LOCAL_KEY_PAIR, AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.wire import codec


@dataclass(frozen=True)
class QueuePair:
    """A source queue and its DLQ."""

    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
    fifo: bool = False

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass
class Delivery:
    """One batch delivered by :meth:`LocalSqs.deliver` (the ``sqs_lambda_router`` fixture), by message id:
    ``succeeded`` ran to success, ``dead_lettered`` went to the DLQ with its reason (both were deleted from
    the queue), ``failed`` were reported in ``batchItemFailures`` (back to the queue).
    ``whole_batch_failed`` and ``problem`` say when Lambda would have retried the whole batch, and why."""

    succeeded: list[str]
    dead_lettered: list[str]
    failed: list[str]
    whole_batch_failed: bool = False
    problem: str = ""


class LocalSqs:
    """An SQS endpoint with conveniences for tests: queue pairs, counts, draining and delivery."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = AwsSqs(config=AwsConfig(endpoint_url=url, region="us-east-1", credentials=LOCAL_KEY_PAIR))

    @property
    def client(self) -> Any:
        """The boto3 SQS client of this endpoint (for calls the SQS port does not wrap)."""
        return self.backend.client()

    def create_idempotency_table(self, name: str) -> str:
        """A table laid out as Powertools' idempotency expects (``id`` key, TTL on ``expiration``)."""
        from sqs_lambda import aws

        dynamodb = aws.AwsConfig(endpoint_url=self.url, region="us-east-1", credentials=LOCAL_KEY_PAIR).client(
            "dynamodb"
        )
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
        )
        return name

    def create_queue_pair(
        self,
        name: str,
        *,
        fifo: bool = False,
        visibility_timeout: int = 30,
        max_receive_count: int = 5,
        content_dedup: bool = False,
        delay_seconds: int = 0,
    ) -> QueuePair:
        suffix = ".fifo" if fifo else ""
        common: dict[str, str] = {"FifoQueue": "true"} if fifo else {}
        if fifo and content_dedup:
            common["ContentBasedDeduplication"] = "true"
        dlq_url = self.client.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=common)["QueueUrl"]
        dlq_arn = self.arn(dlq_url)
        redrive = codec.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
        attributes = {
            **common,
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": redrive,
            "DelaySeconds": str(delay_seconds),
        }
        url = self.client.create_queue(QueueName=f"{name}{suffix}", Attributes=attributes)["QueueUrl"]
        return QueuePair(url, self.arn(url), dlq_url, dlq_arn, fifo)

    def arn(self, url: str) -> str:
        attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def counts(self, url: str) -> dict[str, int]:
        counted = self.backend.counts(url)
        return {"visible": counted.visible, "in_flight": counted.in_flight, "delayed": counted.delayed}

    def total(self, url: str) -> int:
        return self.backend.counts(url).total

    def receive(
        self, url: str, *, max_messages: int = 10, wait: int = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        return self.backend.receive(
            url, max_messages=max_messages, wait_seconds=wait, visibility_timeout=visibility_timeout
        )

    def deliver(
        self,
        router: Any,
        queue: QueuePair,
        *,
        batch_size: int = 10,
        wait: int = 1,
        timeout_seconds: float = 30.0,
        handler: Any = None,
    ) -> Delivery | None:
        """Receive one batch and run it through ``router.lambda_handler`` as Lambda's trigger would.

        Returns a :class:`Delivery` (None when the queue had nothing)."""
        from sqs_lambda import observe
        from sqs_lambda.consuming.policy import Verdict
        from sqs_lambda_dev.local.invocation import InProcessFunction
        from sqs_lambda_dev.local.trigger import Trigger, TriggerConfig

        config = TriggerConfig(name=queue.name, queue_url=queue.url, queue_arn=queue.arn, batch_size=batch_size)
        function = InProcessFunction(handler or router.lambda_handler, timeout=timeout_seconds)
        trigger = Trigger(config, function, self.backend)
        messages = trigger.receive(wait_seconds=wait)
        if not messages:
            return None
        dead: set[str] = set()

        def heard(verdict: str, job: str | None, message_id: str | None) -> None:
            if verdict == Verdict.DEAD_LETTER and message_id is not None:
                dead.add(message_id)

        with observe.outcomes_heard(heard):
            judgement = trigger.deliver(messages)
        if judgement is None:
            return None
        return Delivery(
            succeeded=[i for i in judgement.succeeded if i not in dead],
            dead_lettered=[i for i in judgement.succeeded if i in dead],
            failed=judgement.failed,
            whole_batch_failed=judgement.whole_batch_failed,
            problem=judgement.problem,
        )

    def deliver_until(
        self,
        router: Any,
        queue: QueuePair,
        done: Callable[[], bool],
        *,
        seconds: float = 20.0,
        handler: Any = None,
    ) -> list[Delivery]:
        """:meth:`deliver` batch after batch until ``done()`` is true or ``seconds`` have passed (retries
        and delay hops come back by themselves); returns the deliveries. The caller asserts ``done()``."""
        import time

        deliveries: list[Delivery] = []
        deadline = time.monotonic() + seconds
        while not done() and time.monotonic() < deadline:
            delivery = self.deliver(router, queue, wait=1, handler=handler)
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries
