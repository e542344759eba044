"""Worker: processes uploaded files from the jobs queue.

``process_file(file_id)`` reads the file's record from DynamoDB, counts lines and bytes of the S3
object, and moves its status PENDING -> PROCESSING -> PROCESSED (or FAILED). A file that is not text
can never succeed: it is rejected straight to the DLQ with the reason, after being marked FAILED.
The job is idempotent: a redelivered or re-sent envelope does not process the file twice.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqs_lambda import Reject, Router, aws

router = Router()


def table() -> Any:
    """The files table (boto3 loads on first use, not at import)."""
    return aws.resource("dynamodb").Table(os.environ["FILES_TABLE"])


def s3() -> Any:
    return aws.client("s3")


def set_status(file_id: str, status: str, **fields: Any) -> None:
    values = {"status": status, "updated_at": int(time.time()), **fields}
    names = {f"#{key}": key for key in values}
    table().update_item(
        Key={"file_id": file_id},
        UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{key}": value for key, value in values.items()},
    )


@router.job(idempotent=True)
def process_file(file_id: str, content: str | None = None) -> None:
    """``content``: the file's text sent inline in the job (over 1 MiB it arrives as an S3 pointer, which
    the router resolves before this runs)."""
    item = table().get_item(Key={"file_id": file_id}).get("Item")
    if item is None:
        raise Reject(f"file {file_id} is not registered")
    set_status(file_id, "PROCESSING")
    try:
        data: bytes = (
            content.encode()
            if content is not None
            else s3().get_object(Bucket=os.environ["FILES_BUCKET"], Key=item["s3_key"])["Body"].read()
        )
    except s3().exceptions.NoSuchKey:
        set_status(file_id, "FAILED", reason="the S3 object is missing")
        raise Reject(f"file {file_id}: s3://{os.environ['FILES_BUCKET']}/{item['s3_key']} is missing") from None
    if b"\x00" in data:
        set_status(file_id, "FAILED", reason="not a text file")
        raise Reject(f"file {file_id} is not a text file (it contains NUL bytes)")
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    set_status(file_id, "PROCESSED", lines_count=lines, file_size=len(data))
    # the side effect to count: a duplicate delivery that ran the job again would make it 2
    table().update_item(
        Key={"file_id": file_id}, UpdateExpression="ADD processed_runs :one", ExpressionAttributeValues={":one": 1}
    )


lambda_handler = router.lambda_handler
