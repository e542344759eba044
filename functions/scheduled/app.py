"""Sweeper: EventBridge puts a Scheduled Event on its queue every few minutes (a raw message).

Each tick re-enqueues ``process_file`` for files stuck in PENDING for longer than
``STUCK_AFTER_SECONDS``, through the producer client, onto the jobs queue.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqs_lambda import Producer, Router, aws

router = Router()
_producers: dict[str, Producer] = {}


def table() -> Any:
    """The files table (boto3 loads on first use, not at import)."""
    return aws.resource("dynamodb").Table(os.environ["FILES_TABLE"])


def jobs() -> Producer:
    if "jobs" not in _producers:
        _producers["jobs"] = Producer(os.environ["JOBS_QUEUE_URL"])
    return _producers["jobs"]


def stuck_files(older_than: float) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Attr

    condition = Attr("status").eq("PENDING") & Attr("updated_at").lt(int(older_than))
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"FilterExpression": condition}
    while True:
        page = table().scan(**arguments)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@router.raw(source="aws.events", detail_type="Scheduled Event")
def sweep(event: dict[str, Any]) -> None:
    cutoff = time.time() - float(os.environ.get("STUCK_AFTER_SECONDS", "600"))
    files = stuck_files(cutoff)
    for item in files:
        table().update_item(
            Key={"file_id": item["file_id"]},
            UpdateExpression="SET updated_at = :now",
            ExpressionAttributeValues={":now": int(time.time())},
        )
    if files:
        jobs().send_many([("process_file", {"file_id": item["file_id"]}) for item in files])


lambda_handler = router.lambda_handler
