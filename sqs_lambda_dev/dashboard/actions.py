"""What the dashboard's buttons do. Each action returns one sentence saying what it did, or raises
:class:`ActionFailed` saying what went wrong and where the messages are.

Nothing is lost half-way: a message leaves a queue only after its copy reached the other one (redrive,
edit and resend), and a message taken to be acted on is given back at once if the action does not
happen. Each action is journalled (``sent``, ``redriven``, ``deleted``, ``resent``, ``purged``) with the
job's envelope id, so its timeline shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqs_lambda.aws.sqs import SqsBackend
from sqs_lambda.producing.producer import Producer
from sqs_lambda.producing.queues import name_of_url
from sqs_lambda.wire import envelope as wire
from sqs_lambda_dev import ops
from sqs_lambda_dev.local.ledger import lineage_of

Record = Callable[[str, dict[str, Any]], None]  # (kind, data): the journal


class ActionFailed(Exception):
    """One line for the page: what failed, and that nothing was lost."""


@contextmanager
def taken(backend: SqsBackend, url: str, message_id: str) -> Iterator[dict[str, Any]]:
    """Receive ``url``'s messages until ``message_id`` turns up, and hand it out; the others go back at
    once, and so does this one unless the block deleted it (its receipt is then stale, which is fine).
    Bounded: at most as many messages as the queue holds are looked at."""
    looked: list[str] = []
    found: dict[str, Any] | None = None
    try:
        for _ in range(backend.counts(url).total // 10 + 2):
            messages = backend.receive(url, max_messages=10, wait_seconds=0, visibility_timeout=30)
            if not messages:
                break
            for message in messages:
                if message["MessageId"] == message_id and found is None:
                    found = message
                else:
                    looked.append(message["ReceiptHandle"])
            if found is not None:
                break
        if found is None:
            raise ActionFailed(f"message {message_id} is no longer in the queue (or is in flight)")
        yield found
    finally:
        receipts = looked + ([found["ReceiptHandle"]] if found is not None else [])
        if receipts:
            backend.change_visibility(url, [(receipt, 0) for receipt in receipts])


class Actions:
    def __init__(self, backend: SqsBackend, record: Record) -> None:
        self.backend, self.record = backend, record

    def redrive_all(self, dlq_url: str, destination_url: str) -> str:
        result = ops.redrive(self.backend, dlq_url, destination_url)
        name = name_of_url(destination_url)
        self.record("redriven", {"queue": name_of_url(dlq_url), "to": name, "summary": f"DLQ redriven to {name}"})
        if result.method == "StartMessageMoveTask":
            return f"a move task started: {result.to_move} message(s) going back to {name}"
        kept = f"; {result.remaining} stayed in the DLQ" if result.remaining else ""
        return f"{result.moved} message(s) moved to {name}{kept}"

    def redrive_one(self, dlq_url: str, message_id: str, destination_url: str) -> str:
        started = time.time()  # the event's time: a consumer may receive the copy before it is journalled
        with taken(self.backend, dlq_url, message_id) as message:
            try:
                entry = ops.redrive_entry("0", message, self.backend.queue_info(url=destination_url).fifo)
                response = self.backend.send_batch(destination_url, [entry])
                refused = response.get("Failed") or ([] if response.get("Successful") else [{}])
            except Exception as error:  # the destination is gone, or SQS failed: nothing was sent
                refused = [{"Message": f"{type(error).__name__}: {error}"}]
            if refused:
                reason = refused[0].get("Message", "refused")
                raise ActionFailed(f"redrive failed ({reason}); the message is still in {name_of_url(dlq_url)}")
            self.backend.delete(dlq_url, [message["ReceiptHandle"]])
        self._journal(
            "redriven", message, f"redriven from {name_of_url(dlq_url)} to {name_of_url(destination_url)}", started
        )
        return f"1 message moved to {name_of_url(destination_url)}"

    def delete_one(self, url: str, message_id: str) -> str:
        with taken(self.backend, url, message_id) as message:
            self.backend.delete(url, [message["ReceiptHandle"]])
        self._journal("deleted", message, f"deleted from {name_of_url(url)}")
        return f"1 message deleted from {name_of_url(url)}"

    def purge(self, url: str) -> str:
        depth = self.backend.counts(url).total
        self.backend.purge(url)
        self.record("purged", {"queue": name_of_url(url), "summary": f"{name_of_url(url)} purged ({depth} message(s))"})
        return f"{name_of_url(url)} purged: {depth} message(s) deleted"

    def send(self, url: str, router: Any, job: str, kwargs: dict[str, Any], group_id: str | None = None) -> str:
        producer = Producer(url, router=router, backend=self.backend)
        outgoing = producer.build(job, kwargs, group_id=group_id) if group_id else producer.build(job, kwargs)
        started = time.time()
        message_ids = producer.send_messages([outgoing])
        self.record(
            "sent",
            {
                "time": round(started, 3),
                "envelope_id": outgoing.envelope_id,
                "job": job,
                "queue": name_of_url(url),
                "message_id": message_ids[0],
                "summary": f"sent to {name_of_url(url)} from the dashboard",
            },
        )
        return f"{job} sent to {name_of_url(url)} (envelope {outgoing.envelope_id})"

    def resend(self, url: str, message_id: str, destination_url: str, router: Any, kwargs: dict[str, Any]) -> str:
        """Send a copy of the message with new kwargs to ``destination_url``, then delete the original."""
        with taken(self.backend, url, message_id) as message:
            decoded = wire.decode(message.get("Body"))
            if not isinstance(decoded, wire.Envelope):
                raise ActionFailed("only a job's message can be edited (this body is not an envelope)")
            producer = Producer(destination_url, router=router, backend=self.backend)
            group = (message.get("Attributes") or {}).get("MessageGroupId")
            options: dict[str, Any] = {"group_id": group} if group and producer.info.fifo else {}
            outgoing = producer.build(decoded.job, kwargs, **options)
            started = time.time()
            try:
                producer.send_messages([outgoing])
            except Exception as error:
                raise ActionFailed(f"resend failed ({error}); the message is still in {name_of_url(url)}") from None
            self.backend.delete(url, [message["ReceiptHandle"]])
        self.record(
            "resent",
            {
                "time": round(started, 3),
                "envelope_id": decoded.id,
                "as": outgoing.envelope_id,
                "summary": f"edited and resent to {name_of_url(destination_url)} as {outgoing.envelope_id}",
            },
        )
        self.record(
            "sent",
            {
                "time": round(started, 3),
                "envelope_id": outgoing.envelope_id,
                "job": decoded.job,
                "queue": name_of_url(destination_url),
                "summary": f"sent to {name_of_url(destination_url)}, edited from {decoded.id}",
                "from": decoded.id,
            },
        )
        destination = name_of_url(destination_url)
        return f"{decoded.job} resent to {destination} with the edited arguments (envelope {outgoing.envelope_id})"

    def _journal(self, kind: str, message: Mapping[str, Any], summary: str, at: float | None = None) -> None:
        data = {"envelope_id": lineage_of(message)[0], "message_id": message.get("MessageId"), "summary": summary}
        self.record(kind, data if at is None else {**data, "time": round(at, 3)})
