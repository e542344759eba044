"""Every row of the README's "Bad input" table, exercised against the embedded SQS endpoint."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from sqs_lambda import Producer, Router
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

from .bad_input_cases import (
    POINTER,
    Scene,
    accepting,
    bad_arguments,
    bad_delay,
    celery_body,
    cli_parameters,
    envelope,
    fifo_rules,
    fifo_without_suffix,
    handler_raises,
    idempotent_duplicate,
    idempotent_without_table,
    malformed_records,
    malformed_times,
    missing_payload,
    model_not_a_key,
    model_row_deleted,
    no_dlq,
    oversize,
    producer_case,
    rejecting,
    send_error,
    signed_router,
    unencodable,
    unknown_job_sent,
    unmatched_direct,
)

ROOT = Path(__file__).resolve().parents[2]

CASES: dict[str, Callable[..., None]] = {
    "body is not JSON (no text route)": lambda s: s.expect_dlq("hello", "NoRouteError", "the body is not JSON"),
    "JSON that is not an envelope, no raw route matches": lambda s: s.expect_dlq(
        '{"a": 1}', "NoRouteError", "JSON that is not an sqs-lambda envelope"
    ),
    "envelope without a job name": lambda s: s.expect_dlq(envelope(), "DecodeError", "has no job name"),
    "envelope version newer than this library": lambda s: s.expect_dlq(
        json.dumps({"sqs_lambda": 2, "job": "work"}), "UnsupportedVersionError", "envelope version 2 is newer"
    ),
    "envelope version that does not exist (0 or below)": lambda s: s.expect_dlq(
        json.dumps({"sqs_lambda": 0, "job": "work"}), "UnsupportedVersionError", "envelope version 0 does not exist"
    ),
    "malformed `not_before` (or Celery `eta`)": malformed_times,
    "envelope field of the wrong type": lambda s: s.expect_dlq(
        envelope(job="work", hops="many"), "DecodeError", "malformed envelope"
    ),
    "unknown job": lambda s: s.expect_dlq(envelope(job="nope"), "UnknownJobError", "no job named 'nope'"),
    "missing argument": lambda s: s.expect_dlq(envelope(job="work"), "JobArgumentError", "missing required field `n`"),
    "argument of the wrong type": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": "x"}), "JobArgumentError", "Expected `int`, got `str` - at `$.n`"
    ),
    "unexpected argument": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": 1, "m": 2}), "JobArgumentError", "unknown field `m`"
    ),
    "pickle body (any producer)": lambda s: s.expect_dlq(
        base64.b64encode(pickle.dumps({"n": 1})).decode(), "PickleRejectedError", "never unpickled"
    ),
    "sqs-workers pickle codec": lambda s: s.expect_dlq(
        "gASVAAAAAAAAAAB9lC4=",
        "PickleRejectedError",
        "ContentType 'pickle_compat'",
        attributes={
            "JobName": {"DataType": "String", "StringValue": "work"},
            "ContentType": {"DataType": "String", "StringValue": "pickle_compat"},
        },
        router=accepting(s, "sqs_workers"),
    ),
    "Celery pickle content type": lambda s: s.expect_dlq(
        celery_body("application/x-python-serialize"),
        "PickleRejectedError",
        "application/x-python-serialize",
        router=accepting(s, "celery"),
    ),
    "django-eb-sqs `pickle: true`": lambda s: s.expect_dlq(
        json.dumps({"func": "mytasks.work", "args": [], "kwargs": {}, "pickle": True}),
        "PickleRejectedError",
        "pickle: true",
        router=accepting(s, "django_eb_sqs"),
    ),
    "expired Celery task": lambda s: s.expect_dlq(
        celery_body(expires="2020-01-01T00:00:00+00:00"),
        "Reject",
        "expired at 2020-01-01",
        router=accepting(s, "celery"),
    ),
    "unsigned envelope (signing router)": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": 1}), "SignatureError", "not signed", router=signed_router(s)
    ),
    "forged or altered envelope": lambda s: s.expect_dlq(
        wire.encode("work", {"n": 1}, sign=lambda payload: "forged")[0],
        "SignatureError",
        "matches none of the keys",
        router=signed_router(s),
    ),
    "body is an S3 pointer whose object is missing, or cannot be read (access denied)": missing_payload,
    "body is an S3 pointer to a bucket the router was not told about": lambda s: s.expect_dlq(
        POINTER % ("elsewhere", "k"), "UnknownPayloadBucketError", "s3://elsewhere, a bucket this router was not told"
    ),
    "malformed S3 pointer": lambda s: s.expect_dlq(
        '["software.amazon.payloadoffloading.PayloadS3Pointer", 3]', "DecodeError", "malformed extended-client pointer"
    ),
    "idempotent job without `SQS_LAMBDA_IDEMPOTENCY_TABLE`": idempotent_without_table,
    "a duplicate of an idempotent job that already completed": idempotent_duplicate,
    "handler raises": handler_raises,
    "handler raises `Reject`": lambda s: s.expect_dlq(
        envelope(job="rejects"), "Reject", "not today", router=rejecting()
    ),
    "no DLQ configured, or the DLQ copy fails": no_dlq,
    "record without messageId / not an object (malformed event)": malformed_records,
    "event without `Records` that no raw route matches": unmatched_direct,
    "`sqs-lambda send` of a job the queue's router does not know": unknown_job_sent,
    "producer: argument that cannot be encoded": producer_case(unencodable),
    "producer: arguments that do not fit the signature": producer_case(bad_arguments),
    "producer: message over the queue's size limit, and no payload bucket": producer_case(oversize),
    "producer: negative or too long delay": producer_case(bad_delay),
    "producer: FIFO without group id, or with a delay": producer_case(fifo_rules),
    "producer: entries SQS refuses (sender's fault), or still failing after retries": send_error,
    "Django: a model parameter given what is neither an instance nor a primary key of the model": model_not_a_key,
    "Django: a model argument whose row was deleted before the job ran": model_row_deleted,
    "CLI: `--parameter` without `=value`, or a name the template does not declare": cli_parameters,
    "template: a FIFO queue whose `QueueName` does not end in `.fifo`": fifo_without_suffix,
}


def readme_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| bad input")]
    return [row.split(" | ")[0][2:].strip() for row in rows]


def test_every_readme_row_has_a_case() -> None:
    rows = readme_rows()
    assert len(rows) >= 15
    assert set(rows) == set(CASES)


@pytest.mark.parametrize("row", sorted(CASES))
def test_bad_input(
    row: str,
    sqs_local: LocalSqs,
    sqs_queue: QueuePair,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO)
    case = CASES[row]
    scene = Scene(sqs_local, sqs_queue)
    wanted = case.__code__.co_varnames[: case.__code__.co_argcount]
    if "caplog" in wanted:
        case(scene, caplog)
    elif "tmp_path" in wanted:
        case(scene, tmp_path)
    elif "monkeypatch" in wanted:
        case(scene, monkeypatch)
    else:
        case(scene)


def test_signed_envelopes_pass_and_keys_rotate(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqs_lambda.wire import signing

    monkeypatch.setenv("JOB_SIGNING_KEYS", "new-key,old-key")
    router = Router(queue_url=sqs_queue.url, signing_key=signing.from_env("JOB_SIGNING_KEYS"))
    seen: list[int] = []
    router.job("work")(lambda n: seen.append(n))
    Producer(sqs_queue.url, signing_key="old-key").send("work", n=1)  # signed before the rotation
    Producer(sqs_queue.url, signing_key=["new-key", "old-key"]).send("work", n=2)
    for _ in range(3):
        sqs_local.deliver(router, sqs_queue)
    assert sorted(seen) == [1, 2] and sqs_local.total(sqs_queue.dlq_url) == 0
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signing.sign(b"k", b"payload"))
