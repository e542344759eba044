"""Fuzzing: arbitrary events into lambda_handler never raise, and every response is valid by Lambda's rules."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqs_lambda import Reject, Retry, Router
from sqs_lambda.consuming.delivery import judge_response
from sqs_lambda_testing import InMemoryQueue, sqs_record

router = Router(accept=["sqs_lambda", "sqs_workers", "celery", "django_eb_sqs"], time_margin_ms=0)
router.backend = InMemoryQueue()


@router.job()
def work(n: int, label: str = "") -> None:
    if n % 7 == 3:
        raise RuntimeError("unlucky")
    if n % 11 == 5:
        raise Retry(delay=5)
    if n % 13 == 6:
        raise Reject("never")


@router.raw(match=lambda body: isinstance(body, dict) and body.get("kind") == "ping")
def ping(body: dict[str, Any]) -> None: ...


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_value = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8
)
anything = st.one_of(json_value, st.binary(max_size=20))

bodies = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(min_codepoint=0x80), min_size=1, max_size=50),  # non-ASCII, emoji
    st.builds(
        lambda n, label: json.dumps({"sqs_lambda": 1, "job": "work", "kwargs": {"n": n, "label": label}}),
        st.integers(),
        st.text(max_size=10),
    ),
    st.builds(lambda fields: json.dumps({"sqs_lambda": 1, **fields}), st.dictionaries(st.text(max_size=8), json_value)),
    st.builds(json.dumps, json_value),
    st.just("x" * 300_000),  # a huge body
)

records = st.one_of(
    st.builds(
        lambda body, count, fifo: sqs_record(body, receive_count=count, fifo=fifo),
        bodies,
        st.integers(min_value=1, max_value=20),
        st.booleans(),
    ),
    st.dictionaries(
        st.sampled_from(["messageId", "body", "receiptHandle", "attributes", "messageAttributes", "eventSourceARN"]),
        anything,
        max_size=6,
    ),
    anything,
)

events = st.one_of(
    st.builds(lambda rs: {"Records": rs}, st.lists(records, max_size=12)),
    st.dictionaries(st.text(max_size=10), json_value, max_size=4),  # no Records at all
    st.just({"Records": []}),
    st.just({"Records": None}),
    anything,
)


def batch_ids(event: Any) -> list[str]:
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        return []
    return [
        r["messageId"]
        for r in event["Records"]
        if isinstance(r, dict) and isinstance(r.get("messageId"), str) and r["messageId"]
    ]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(event=events)
def test_lambda_handler_never_raises_and_answers_validly(event: Any) -> None:
    response = router.lambda_handler(event, None)
    assert isinstance(response, dict) and isinstance(response.get("batchItemFailures"), list)
    ids = batch_ids(event)
    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert all(isinstance(i, str) and i for i in reported)  # no empty or null ids
    assert set(reported) <= set(ids)  # only ids from the batch
    assert len(reported) == len(set(reported))
    if ids and len(ids) == len(batch_ids(event)):
        verdict = judge_response(response, ids)
        assert not verdict.whole_batch_failed, verdict.problem
