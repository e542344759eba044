"""The conservation law, as a property over random batches, on the embedded SQS engine.

``lambda_handler`` never raises, and every record ends as exactly one of:
- run to success (its handler ran to the end: counted by token);
- reported in ``batchItemFailures`` (it stays in its queue);
- copied to the DLQ, body intact, with a reason.

Batches mix sync and ``async def`` jobs (with and without a context), bad arguments, unknown jobs, text,
foreign JSON, envelopes with one field of a wrong type or a malformed value, peers' formats (a malformed
Celery ``eta`` included) and pickles, with receive counts 1-5 and handlers that succeed, raise, ``Retry``
or ``Reject``; on standard and FIFO queues, through a plain router, one that accepts every peer format, one whose
middleware fails (before some jobs, after every one), and one traced with OpenTelemetry.
The default profile (300 examples) finds a lost ``async def`` job or a raising ``not_before`` from a
clean start; ``HYPOTHESIS_PROFILE=deep`` runs 5,000.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqs_lambda import Reject, Retry, Router, otel
from sqs_lambda.consuming import backoff, failure
from sqs_lambda.middleware import JobRun, Middleware, Outcome
from sqs_lambda_testing import lambda_context, sqs_record
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

succeeded: Counter[str] = Counter()


def act(token: str, outcome: str) -> None:
    if outcome == "raise":
        raise RuntimeError(f"{token} failed")
    if outcome == "retry":
        raise Retry(delay=1)
    if outcome == "reject":
        raise Reject(f"{token} can never succeed")
    succeeded[token] += 1


class Unruly(Middleware):
    """A middleware that fails: before an async job that would succeed (so it does not run), and after
    every job (which must change nothing)."""

    def before_job(self, run: JobRun) -> None:
        if run.job == "async_job" and run.call.kwargs.get("outcome") == "ok":
            raise ConnectionError("the results store is down")

    def after_job(self, run: JobRun, outcome: Outcome, error: BaseException | None) -> None:
        raise ConnectionError("the results store is down")


def build_router(accept: tuple[Any, ...], middleware: tuple[Middleware, ...] = ()) -> Router:
    router = Router(
        accept=accept,
        aliases={"tasks.sync_job": "sync_job", "app.tasks.sync_job": "sync_job"},
        default_backoff=backoff.immediate(),
        middleware=middleware,
    )

    @router.job(max_retries=2)
    def sync_job(token: str, outcome: str = "ok") -> None:
        act(token, outcome)

    @router.job()
    async def async_job(token: str, outcome: str = "ok") -> None:
        await asyncio.sleep(0)  # really suspends: a job that is never awaited never gets past here
        act(token, outcome)

    @router.raw(match=lambda body: isinstance(body, dict) and body.get("kind") == "ping" and "token" in body)
    def ping(body: dict[str, Any]) -> None:
        act(str(body["token"]), str(body.get("outcome", "ok")))

    @router.raw(text=True, match=lambda body: isinstance(body, str) and body.startswith("tok:"))
    def tagged_text(body: str) -> None:
        act(body[4:], "ok")

    return router


ROUTERS = {
    "plain": build_router(("sqs_lambda",)),
    "peers": build_router(("sqs_lambda", "sqs_workers", "celery", "django_eb_sqs")),
    "middleware": build_router(("sqs_lambda",), (Unruly(),)),
    "traced": build_router(("sqs_lambda", "sqs_workers", "celery", "django_eb_sqs")),  # with OpenTelemetry on
}

# -- what a record can be ------------------------------------------------------------------------------

OUTCOMES = st.sampled_from(["ok", "ok", "raise", "retry", "reject"])
MALFORMED_TIMES = st.one_of(
    st.sampled_from(["soon", "2026-13-45T25:61:00Z", "tomorrow at noon", "", "2026-02-30T00:00:00Z", "12:00"]),
    st.text(alphabet="0123456789-T:Z. +", max_size=25),
)
PAST_TIMES = st.sampled_from(["2020-01-01T00:00:00Z", "2026-01-01T10:00:00.000000Z", "2021-06-01T12:00:00+02:00"])
SAFE_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xD7FF), max_size=60)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | SAFE_TEXT
JSON_VALUE = st.recursive(
    JSON_LEAF, lambda c: st.lists(c, max_size=3) | st.dictionaries(SAFE_TEXT, c, max_size=3), max_leaves=6
)
ENVELOPE_FIELDS = ["sqs_lambda", "job", "id", "kwargs", "sent_at", "context", "not_before", "hops", "sig"]


def envelope(token: str, job: str = "sync_job", outcome: str = "ok", **fields: Any) -> dict[str, Any]:
    return {
        "sqs_lambda": 1,
        "id": uuid.uuid4().hex,
        "job": job,
        "kwargs": {"token": token, "outcome": outcome},
        "sent_at": "2026-12-01T10:00:00.000000Z",
        **fields,
    }


def job_attributes(job: str) -> dict[str, Any]:
    return {"job": {"DataType": "String", "StringValue": job}}


def string_attributes(**values: str) -> dict[str, Any]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def celery(token: str, outcome: str, *, content_type: str = "application/json", **headers: Any) -> str:
    inner = b64(json.dumps([[token], {"outcome": outcome}, {"callbacks": None}]).encode())
    outer = {
        "body": inner,
        "content-encoding": "utf-8",
        "content-type": content_type,
        "headers": {"lang": "py", "task": "tasks.sync_job", "id": uuid.uuid4().hex, **headers},
        "properties": {"body_encoding": "base64", "correlation_id": uuid.uuid4().hex},
    }
    return b64(json.dumps(outer).encode())


# Each kind draws its parameters; the body is made in the test, with a fresh token per record.
Spec = tuple[str, dict[str, Any]]


def spec(kind: str, **strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Spec]:
    return st.fixed_dictionaries(strategies).map(lambda params: (kind, params))


SPECS: st.SearchStrategy[Spec] = st.one_of(
    spec(
        "job",
        job=st.sampled_from(["sync_job", "async_job"]),
        outcome=OUTCOMES,
        context=st.none() | st.just({"request_id": "r-1"}),
        not_before=st.none() | PAST_TIMES,
    ),
    spec("bad_args", job=st.sampled_from(["sync_job", "async_job"]), kwargs=JSON_VALUE),
    spec("unknown", name=SAFE_TEXT.filter(lambda n: n not in ("sync_job", "async_job", ""))),
    spec("odd_field", field=st.sampled_from(ENVELOPE_FIELDS), value=JSON_VALUE | MALFORMED_TIMES, drop=st.booleans()),
    spec("malformed_time", job=st.sampled_from(["sync_job", "async_job"]), value=MALFORMED_TIMES),
    spec("text", text=SAFE_TEXT),
    spec("tagged_text"),
    spec("ping", outcome=OUTCOMES),
    spec("foreign_json", value=JSON_VALUE),
    spec("sqs_workers", outcome=OUTCOMES, job=st.sampled_from(["sync_job", "nope"])),
    spec("celery", outcome=OUTCOMES, eta=st.none() | PAST_TIMES | MALFORMED_TIMES, expires=st.none() | PAST_TIMES),
    spec("django_eb_sqs", outcome=OUTCOMES, func=st.sampled_from(["app.tasks.sync_job", "app.tasks.unmapped"])),
    spec("pickle", variant=st.sampled_from(["raw", "sqs_workers", "celery", "django_eb_sqs"])),
    spec("pointer", state=st.sampled_from(["stored", "missing", "unknown_bucket"]), outcome=OUTCOMES),
)
PAYLOAD_BUCKET = f"law-payloads-{uuid.uuid4().hex[:8]}"


def materialize(kind: str, params: dict[str, Any], token: str) -> tuple[str, dict[str, Any]]:
    """The body and message attributes of one record of ``kind``."""
    if kind == "job":
        fields: dict[str, Any] = {}
        if params["context"] is not None:
            fields["context"] = params["context"]
        if params["not_before"] is not None:
            fields["not_before"] = params["not_before"]
        job = params["job"]
        return json.dumps(envelope(token, job, params["outcome"], **fields)), job_attributes(job)
    if kind == "bad_args":
        return json.dumps({**envelope(token, params["job"]), "kwargs": params["kwargs"]}), {}
    if kind == "unknown":
        return json.dumps(envelope(token, params["name"])), {}
    if kind == "odd_field":
        body = envelope(token)
        if params["drop"]:
            body.pop(params["field"], None)
        else:
            body[params["field"]] = params["value"]
        return json.dumps(body), {}
    if kind == "malformed_time":
        return json.dumps(envelope(token, params["job"], not_before=params["value"])), {}
    if kind == "text":
        return params["text"] or " ", {}
    if kind == "tagged_text":
        return f"tok:{token}", {}
    if kind == "ping":
        return json.dumps({"kind": "ping", "token": token, "outcome": params["outcome"]}), {}
    if kind == "foreign_json":
        return json.dumps(params["value"]), {}
    if kind == "sqs_workers":
        body = json.dumps({"token": token, "outcome": params["outcome"]})
        return body, string_attributes(JobName=params["job"], ContentType="json")
    if kind == "celery":
        headers = {key: params[key] for key in ("eta", "expires") if params[key] is not None}
        return celery(token, params["outcome"], **headers), {}
    if kind == "django_eb_sqs":
        body = {"id": uuid.uuid4().hex, "func": params["func"], "args": [token], "kwargs": {"outcome": "ok"}}
        return json.dumps({**body, "pickle": False, "retry": 0, "maxRetries": 3}), {}
    if kind == "pointer":  # an S3 pointer (the extended-client format) to a stored, missing or foreign object
        from sqs_lambda import aws
        from sqs_lambda.wire import payloads

        bucket = "someone-elses-bucket" if params["state"] == "unknown_bucket" else PAYLOAD_BUCKET
        pointer = payloads.Pointer(bucket, uuid.uuid4().hex)
        inner = json.dumps(envelope(token, "sync_job", params["outcome"]))
        if params["state"] == "stored":
            aws.client("s3").put_object(Bucket=bucket, Key=pointer.key, Body=inner.encode())
        return pointer.body(), payloads.size_attribute(len(inner))
    assert kind == "pickle"
    payload = pickle.dumps({"token": token}, protocol=2)
    variant = params["variant"]
    if variant == "raw":
        return b64(payload), {}
    if variant == "sqs_workers":
        body = base64.urlsafe_b64encode(zlib.compress(payload)).decode()
        return body, string_attributes(JobName="sync_job", ContentType="pickle_compat")
    if variant == "celery":
        return celery(token, "ok", content_type="application/x-python-serialize"), {}
    return json.dumps({"id": "1", "func": "app.tasks.sync_job", "args": [b64(payload)], "pickle": True}), {}


BATCHES = st.lists(
    st.tuples(SPECS, st.integers(min_value=1, max_value=5), st.sampled_from(["g1", "g2", "g3"])),
    min_size=1,
    max_size=10,
)

# -- the engine ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def queues(sqs_local: LocalSqs) -> Iterator[dict[str, QueuePair]]:
    from sqs_lambda import aws

    aws.client("s3").create_bucket(Bucket=PAYLOAD_BUCKET)
    os.environ["SQS_LAMBDA_PAYLOAD_BUCKET"] = PAYLOAD_BUCKET  # the routers read pointers to it
    suffix = uuid.uuid4().hex[:8]
    yield {
        "standard": sqs_local.create_queue_pair(f"law-{suffix}"),
        "fifo": sqs_local.create_queue_pair(f"law-{suffix}", fifo=True),
    }
    del os.environ["SQS_LAMBDA_PAYLOAD_BUCKET"]


def drain(sqs_local: LocalSqs, url: str) -> Iterator[dict[str, Any]]:
    """Every message in ``url``, received and deleted."""
    while True:
        messages = sqs_local.receive(url, visibility_timeout=60)
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs_local.client.delete_message_batch(QueueUrl=url, Entries=entries)
        yield from messages


@pytest.mark.timeout(3600)  # the deep profile runs 5,000 examples (about 5 minutes here)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=BATCHES, queue_type=st.sampled_from(["standard", "fifo"]), router_name=st.sampled_from(list(ROUTERS)))
def test_every_record_is_run_reported_or_dead_lettered(
    sqs_local: LocalSqs,
    queues: dict[str, QueuePair],
    batch: list[tuple[Spec, int, str]],
    queue_type: str,
    router_name: str,
) -> None:
    queue = queues[queue_type]
    fifo = queue_type == "fifo"
    tokens: list[str] = []
    records: list[dict[str, Any]] = []
    for index, ((kind, params), receive_count, group) in enumerate(batch):
        token = uuid.uuid4().hex
        body, attributes = materialize(kind, params, token)
        record = sqs_record(
            body,
            fifo=fifo,
            receive_count=receive_count,
            queue=queue.name,
            group_id=group,
            attributes=attributes,
            sequence=index,
        )
        tokens.append(token)
        records.append(record)
    succeeded.clear()

    if router_name == "traced":  # every record a span (the SDK, no exporter), S3 fetches and DLQ copies too
        from opentelemetry.sdk.trace import TracerProvider

        otel.use_tracer_provider(TracerProvider())
    try:
        response = ROUTERS[router_name].lambda_handler(
            {"Records": records}, lambda_context(remaining_ms=120_000, sqs=None)
        )
    finally:
        otel.use_tracer_provider(None)

    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert len(reported) == len(set(reported)) and set(reported) <= {r["messageId"] for r in records}
    dead_letters = list(drain(sqs_local, queue.dlq_url))
    for message in dead_letters:
        reason = failure.read_failure(message.get("MessageAttributes") or {})
        assert reason.get("error_type") and reason.get("error_message"), message
    expected_in_dlq: Counter[str] = Counter()
    for record, token in zip(records, tokens, strict=True):
        ran = succeeded[token]
        assert ran <= 1, f"{record['body']!r} ran {ran} times"
        was_reported = record["messageId"] in reported
        assert ran + was_reported <= 1, f"{record['body']!r} ran and was reported failed"
        if not ran and not was_reported:
            expected_in_dlq[record["body"]] += 1
    assert Counter(m["Body"] for m in dead_letters) == expected_in_dlq, "records neither run, reported nor in the DLQ"
    assert sqs_local.total(queue.url) == 0  # nothing was re-sent to the source queue behind our back
