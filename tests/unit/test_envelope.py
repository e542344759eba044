from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqs_lambda.consuming import failure
from sqs_lambda.errors import DecodeError, EncodeError, UnsupportedVersionError
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_round_trip_keeps_job_kwargs_id_and_context() -> None:
    body, envelope_id = wire.encode("process_file", {"file_id": "42", "n": 3}, context={"request_id": "abc"})
    decoded = wire.decode(body, message_id="m1")
    assert isinstance(decoded, wire.Envelope)
    assert decoded.job == "process_file"
    assert decoded.id == envelope_id
    assert decoded.context == {"request_id": "abc"}
    assert codec.loads(decoded.kwargs) == {"file_id": "42", "n": 3}
    assert decoded.sent_at and decoded.sent_at.endswith("Z")


def test_rich_types_are_encoded_as_documented() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    ident = uuid.UUID(int=7)
    body, _ = wire.encode(
        "j",
        {
            "when": moment,
            "day": dt.date(2026, 1, 2),
            "amount": Decimal("1.10"),
            "id": ident,
            "colour": Colour.RED,
            "point": Point(1, 2),
        },
    )
    kwargs = codec.loads(wire.decode(body).kwargs)  # type: ignore[union-attr]
    assert kwargs == {
        "when": "2026-01-02T03:04:05Z",
        "day": "2026-01-02",
        "amount": "1.10",
        "id": str(ident),
        "colour": "red",
        "point": {"x": 1, "y": 2},
    }


def test_pydantic_models_are_encoded() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Order(pydantic.BaseModel):
        id: int
        when: dt.date

    body, _ = wire.encode("j", {"order": Order(id=1, when=dt.date(2026, 1, 1))})
    assert codec.loads(wire.decode(body).kwargs) == {"order": {"id": 1, "when": "2026-01-01"}}  # type: ignore[union-attr]


def test_unencodable_argument_is_named() -> None:
    with pytest.raises(EncodeError) as caught:
        wire.encode("upload", {"ok": 1, "handle": object()})
    assert "'handle'" in str(caught.value) and "'upload'" in str(caught.value)
    assert caught.value.argument is not None and "handle" in caught.value.argument


def test_not_json_is_raw_text_not_an_error() -> None:
    decoded = wire.decode("Hello from SQS!", message_id="m1")
    assert decoded == wire.RawBody("Hello from SQS!", is_json=False)


def test_foreign_json_is_raw() -> None:
    assert wire.decode('{"detail-type": "Scheduled Event"}') == wire.RawBody({"detail-type": "Scheduled Event"})


def test_missing_job_name_is_rejected_with_message_id() -> None:
    with pytest.raises(DecodeError, match="message m9: the envelope has no job name"):
        wire.decode('{"sqs_lambda": 1, "kwargs": {}}', message_id="m9")


def test_newer_version_is_rejected() -> None:
    with pytest.raises(UnsupportedVersionError, match="message m2: envelope version 99 is newer"):
        wire.decode('{"sqs_lambda": 99, "job": "x"}', message_id="m2")


def test_malformed_envelope_fields_are_rejected() -> None:
    with pytest.raises(DecodeError, match="malformed envelope"):
        wire.decode('{"sqs_lambda": 1, "job": "x", "hops": "many"}', message_id="m3")


def test_message_size_counts_body_and_attributes() -> None:
    size = wire.message_size("abc", {"job": {"DataType": "String", "StringValue": "xy"}})
    assert size == 3 + len("job") + len("String") + 2


def test_failure_attributes_fold_when_there_is_no_room() -> None:
    many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(9)}
    reason = {"error_type": "E", "error_message": "boom"}
    folded = failure.with_failure_attributes(many, reason)
    assert len(folded) == 10 and "failure" in folded
    assert failure.read_failure(folded) == reason
    spread = failure.with_failure_attributes({}, reason)
    assert spread["failure.error_type"]["StringValue"] == "E"
    assert failure.read_failure(spread) == reason
    assert failure.strip_failure(spread) == {}


def test_rehop_keeps_id_and_counts_hops() -> None:
    body, envelope_id = wire.encode("j", {"a": 1}, not_before="2030-01-01T00:00:00Z")
    first = wire.decode(body)
    assert isinstance(first, wire.Envelope)
    again = wire.decode(wire.rehop(first))
    assert isinstance(again, wire.Envelope)
    assert (again.id, again.hops, again.not_before) == (envelope_id, 1, "2030-01-01T00:00:00Z")
    assert codec.loads(again.kwargs) == {"a": 1}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(kwargs=st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=6))
def test_any_json_kwargs_round_trip(kwargs: dict[str, object]) -> None:
    body, _ = wire.encode("job", kwargs)
    decoded = wire.decode(body)
    assert isinstance(decoded, wire.Envelope)
    assert codec.loads(decoded.kwargs) == kwargs


@given(body=st.text(max_size=200))
def test_decode_never_raises_anything_but_decode_errors(body: str) -> None:
    with contextlib.suppress(DecodeError):
        wire.decode(body)


def test_a_send_encodes_the_arguments_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqs_lambda import Producer, Router
    from sqs_lambda_testing import InMemoryQueue

    router = Router()

    @router.job()
    def work(n: int, tags: list[str]) -> None: ...

    real = codec.encoder
    encoded: list[Any] = []

    class Counting:
        def encode(self, value: Any) -> bytes:
            encoded.append(value)
            return real.encode(value)

    monkeypatch.setattr(codec, "encoder", Counting())
    queue = InMemoryQueue()
    arguments = {"n": 1, "tags": ["a", "b"]}
    Producer(queue.url, backend=queue, router=router).send("work", **arguments)
    assert [value for value in encoded if value == arguments] == [arguments]  # validated and sent: one encode
    assert len(encoded) == 2  # the arguments, then the envelope around their bytes
    assert queue.jobs() == [("work", arguments)]
