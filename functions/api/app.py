"""API: records an uploaded file as PENDING and enqueues its processing (Service A of the tutorial).

``POST /files`` with ``{"file_id": "...", "s3_key": "..."}`` answers 202 with the job's MessageId.
The job is enqueued through the producer client, so its arguments are checked before anything is sent.
A file may instead come inline (``{"file_id": "...", "content": "..."}``): its text travels in the job,
and a job over SQS's 1 MiB goes as an S3 pointer (``SQS_LAMBDA_PAYLOAD_BUCKET``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from sqs_lambda import Producer, aws, context

_producers: dict[str, Producer] = {}


def table() -> Any:
    """The files table (boto3 loads on first use, not at import)."""
    return aws.resource("dynamodb").Table(os.environ["FILES_TABLE"])


def jobs() -> Producer:
    if "jobs" not in _producers:
        _producers["jobs"] = Producer(os.environ["JOBS_QUEUE_URL"])
    return _producers["jobs"]


def answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def lambda_handler(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    try:
        payload = json.loads(event.get("body") or "{}")
    except json.JSONDecodeError:
        return answer(400, {"error": "the body is not JSON"})
    file_id, s3_key, content = payload.get("file_id"), payload.get("s3_key"), payload.get("content")
    inline = isinstance(content, str)
    if not isinstance(file_id, str) or not file_id or not (inline or (isinstance(s3_key, str) and s3_key)):
        return answer(400, {"error": "file_id and s3_key (or content), as strings, are required"})
    location = "(inline)" if inline else s3_key
    table().put_item(Item={"file_id": file_id, "s3_key": location, "status": "PENDING", "updated_at": int(time.time())})
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(lambda_context, "aws_request_id", "")
    arguments = {"file_id": file_id, **({"content": content} if inline else {})}
    with context(request_id=request_id):  # the worker's logs carry the API request's id
        message_id = jobs().send("process_file", **arguments)
    return answer(202, {"file_id": file_id, "status": "PENDING", "message_id": message_id})
