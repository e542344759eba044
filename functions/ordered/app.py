"""Orders: a FIFO queue where each tenant's events must apply in order (MessageGroupId = tenant).

``apply_order_event(tenant, sequence, action)`` appends to the tenant's ledger only if ``sequence``
follows the last one applied; a gap would mean an ordering bug, so it raises (and, on FIFO, the
group waits). An unknown action is rejected to the DLQ.
"""

from __future__ import annotations

import os
from typing import Any

from sqs_lambda import Reject, Router, aws

router = Router()
ACTIONS = {"created", "paid", "shipped", "delivered", "cancelled"}


def table() -> Any:
    """The files table (boto3 loads on first use, not at import)."""
    return aws.resource("dynamodb").Table(os.environ["FILES_TABLE"])


@router.job()
def apply_order_event(tenant: str, sequence: int, action: str) -> None:
    if action not in ACTIONS:
        raise Reject(f"unknown order action {action!r}")
    key = {"file_id": f"tenant#{tenant}"}
    ledger = table().get_item(Key=key).get("Item") or {"last_sequence": 0, "actions": []}
    last = int(ledger["last_sequence"])
    if sequence <= last:
        return  # already applied: at-least-once delivery made this a duplicate
    if sequence != last + 1:
        raise RuntimeError(f"tenant {tenant}: event {sequence} arrived after {last} (out of order)")
    table().put_item(Item={**key, "last_sequence": sequence, "actions": [*ledger["actions"], action]})


lambda_handler = router.lambda_handler
