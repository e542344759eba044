"""The example application's demo for ``sqs-lambda local --demo`` (named by the template's Metadata).

It is the application's script, not the library's: ``enqueue(runtime)`` sends the sample work and returns
what it sent (with a one-line ``message``); ``outcome(runtime)`` says what became of it.

It uploads text files (processed), a binary file (rejected to the DLQ with its reason), a file left
stuck in PENDING that only the scheduled sweep re-enqueues, and a 1.6 MiB log sent inline, whose job
goes over SQS's 1 MiB and so travels as an S3 pointer; it sends a FIFO sequence per tenant.
Everything is enqueued through the producer client, as an application would.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from sqs_lambda.consuming import failure
from sqs_lambda.producing.producer import Producer
from sqs_lambda.wire import envelope as wire

if TYPE_CHECKING:
    from sqs_lambda_dev.local.runtime import LocalRuntime

REQUIRED = ("JobsQueue", "OrdersQueue", "FilesBucket", "FilesTable")
FILES = {
    "report.txt": b"quarterly report\nrevenue up\ncosts down\n",
    "notes.md": b"# notes\n\n- ship the demo\n- write the docs\n",
    "data.csv": b"id,value\n1,10\n2,20\n3,30\n",
    "photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary",
}
STUCK_FILE = "forgotten.txt"
LARGE_FILE = "large.log"
LARGE_LINES = 30_000
LARGE_TEXT = "".join(f"{n:06d} an event of the day, kept in one large log file\n" for n in range(LARGE_LINES))
ORDERS = {"acme": ["created", "paid", "shipped", "delivered"], "globex": ["created", "cancelled"]}


def register(runtime: LocalRuntime, name: str, content: str | None = None) -> str:
    """``POST /files`` on the local HTTP API; returns the enqueued job's MessageId."""
    if runtime.api_url is None:
        raise RuntimeError("the demo needs the template's HTTP API (the ApiFunction's POST /files event)")
    fields = {"content": content} if content is not None else {"s3_key": f"uploads/{name}"}
    body = json.dumps({"file_id": name, **fields}).encode()
    request = urllib.request.Request(
        f"{runtime.api_url}/files", data=body, method="POST", headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["message_id"])


def enqueue(runtime: LocalRuntime) -> dict[str, Any]:
    """Upload and enqueue the sample work; returns what was sent."""
    resources = runtime.resources
    known = {**resources.queue_urls, **resources.buckets, **resources.tables}
    missing = [name for name in REQUIRED if name not in known]
    if missing:
        raise RuntimeError(f"the demo needs the example template (missing: {', '.join(missing)})")
    s3, dynamodb = runtime.client("s3"), runtime.client("dynamodb")
    bucket, table = resources.buckets["FilesBucket"], resources.tables["FilesTable"]
    for name, data in {**FILES, STUCK_FILE: b"found by the sweep\n"}.items():
        s3.put_object(Bucket=bucket, Key=f"uploads/{name}", Body=data)
    # The story starts with an HTTP call, as in the tutorial's Service A: POST /files records each file as
    # PENDING and enqueues its job.
    job_ids = [register(runtime, name) for name in FILES]
    job_ids.append(register(runtime, LARGE_FILE, LARGE_TEXT))  # over 1 MiB: the job goes as an S3 pointer
    # A file recorded an hour ago whose job was lost: only the scheduled sweep finds it.
    dynamodb.put_item(
        TableName=table,
        Item={
            "file_id": {"S": STUCK_FILE},
            "s3_key": {"S": f"uploads/{STUCK_FILE}"},
            "status": {"S": "PENDING"},
            "updated_at": {"N": str(int(time.time()) - 3600)},
        },
    )
    orders = Producer(resources.queue_urls["OrdersQueue"], backend=runtime.backend)
    for tenant, actions in ORDERS.items():
        for sequence, action in enumerate(actions, start=1):
            orders.send("apply_order_event", tenant=tenant, sequence=sequence, action=action, group_id=tenant)
    events = sum(map(len, ORDERS.values()))
    return {
        "message": f"demo: POST /files registered {len(job_ids)} files (one of "
        f"{len(LARGE_TEXT.encode()) / 1048576:.1f} MiB, sent inline); {events} order events enqueued",
        "files": [*FILES, LARGE_FILE],
        "stuck": STUCK_FILE,
        "jobs": job_ids,
        "orders": ORDERS,
    }


def outcome(runtime: LocalRuntime) -> dict[str, Any]:
    """What happened: file statuses, tenant ledgers, and each DLQ's messages with their reasons."""
    resources = runtime.resources
    dynamodb = runtime.client("dynamodb")
    items = dynamodb.scan(TableName=resources.tables["FilesTable"])["Items"]
    files, ledgers = {}, {}
    for item in items:
        plain = {k: next(iter(v.values())) for k, v in item.items()}
        if plain["file_id"].startswith("tenant#"):
            ledgers[plain["file_id"][7:]] = [a.get("S") for a in item.get("actions", {}).get("L", [])]
        else:
            files[plain["file_id"]] = {
                k: plain.get(k)
                for k in ("status", "lines_count", "file_size", "reason", "processed_runs")
                if plain.get(k) is not None
            }
    letters = dead_letters(runtime)
    return {"story": story(files, ledgers, letters), "files": files, "ledgers": ledgers, "dead_letters": letters}


def story(files: dict[str, Any], ledgers: dict[str, list[str]], letters: dict[str, list[Any]]) -> list[str]:
    """What happened, one line per thread of the demo, from what the functions recorded."""

    def status(name: str) -> str:
        return str(files.get(name, {}).get("status", "missing"))

    text = [name for name in FILES if status(name) == "PROCESSED"]
    again = [name for name in text if int(files[name].get("processed_runs") or 0) != 1]
    lines = [
        f"{len(text)} text files PROCESSED once each ({', '.join(text)}): process_file is idempotent"
        if not again
        else f"{len(text)} text files PROCESSED, but {', '.join(again)} more than once: a duplicate ran again"
    ]
    size = len(LARGE_TEXT.encode()) / 1048576
    lines.append(
        f"{LARGE_FILE}: {size:.1f} MiB sent inline; its job was over SQS's 1 MiB, so it travelled as an S3 "
        f"pointer: {status(LARGE_FILE)}"
    )
    lines.append(f"{STUCK_FILE}: left in PENDING with no job; the scheduled sweep found it: {status(STUCK_FILE)}")
    for queue, entries in letters.items():
        for entry in entries:
            reason = entry["failure"].get("error_message", "no reason")
            lines.append(f"dead-lettered to {queue}: {entry['job']}: {reason}")
    for tenant, actions in ledgers.items():
        lines.append(f"FIFO, tenant {tenant}: {' -> '.join(actions)} (in order)")
    return lines


def dead_letters(runtime: LocalRuntime) -> dict[str, list[dict[str, Any]]]:
    """Each DLQ's messages (made visible again at once) with their decoded job and failure reason."""
    found: dict[str, list[dict[str, Any]]] = {}
    for logical in runtime.resources.dlqs:
        url = runtime.resources.queue_urls[logical]
        messages = runtime.backend.receive(url, max_messages=10, visibility_timeout=0)
        entries = []
        for message in messages:
            decoded = wire.decode(message["Body"]) if message["Body"] else None
            entries.append(
                {
                    "job": decoded.job if isinstance(decoded, wire.Envelope) else "(raw)",
                    "failure": failure.read_failure(message.get("MessageAttributes") or {}),
                }
            )
        if entries:
            found[runtime.resources.queue_name(logical)] = entries
    return found
