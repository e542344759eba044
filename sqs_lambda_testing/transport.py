"""A transport that records the failure policy's SQS calls instead of making them (no network).

Use it to unit-test what your jobs' failures do: ``router.transport = RecordingTransport()``, run an
event through ``router.lambda_handler``, then look at ``sends`` (DLQ copies, delay hops) and
``visibility`` (backoff). ``dlq=False`` simulates a queue without a DLQ, ``fail_sends=True`` a DLQ that
cannot be reached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqs_lambda.aws import QueueInfo


@dataclass
class RecordingTransport:
    dlq: bool = True
    fail_sends: bool = False
    fifo: bool = False
    sends: list[dict[str, Any]] = field(default_factory=list)
    visibility: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)

    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
        arn = arn or "arn:aws:sqs:us-east-1:123456789012:jobs"
        is_dlq = arn.endswith("-dlq") or arn.endswith("-dlq.fifo")
        return QueueInfo(
            url=f"http://q/{arn.rsplit(':', 1)[-1]}",
            arn=arn,
            fifo=arn.endswith(".fifo"),
            content_dedup=False,
            max_message_size=1_048_576,
            dlq_arn=None if is_dlq or not self.dlq else arn.replace("jobs", "jobs-dlq"),
            max_receive_count=5,
        )

    def send(
        self,
        url: str,
        body: str,
        attributes: Any = None,
        *,
        delay: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        if self.fail_sends:
            raise RuntimeError("injected send failure")
        self.sends.append(
            {
                "url": url,
                "body": body,
                "attributes": dict(attributes or {}),
                "delay": delay,
                "group_id": group_id,
                "dedup_id": dedup_id,
            }
        )
        return f"m{len(self.sends)}"

    def change_visibility(self, url: str, changes: list[tuple[str, int]]) -> list[dict[str, Any]]:
        self.visibility.append((url, list(changes)))
        return []
