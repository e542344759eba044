"""The embedded engine's patches to moto's SQS: pinned, equivalent, and no longer O(queue depth).

If this fails after a moto upgrade, re-read the patched functions in moto, adapt
``sqs_lambda_dev/engine/moto_speedups.py`` and record the new fingerprints (or drop a patch that upstream made
unnecessary).
"""

from __future__ import annotations

import hashlib
import inspect
import uuid
from typing import Any

import pytest

from sqs_lambda_dev.engine import moto_speedups

# What the patches replace or wrap, as moto 5.2.5 wrote it (sha256 of the source, first 16 hex digits).
FINGERPRINTS = {
    "Queue.attributes": "415efb2d36465499",
    "Queue.messages": "2a1333e17062314e",
    "Queue.delete_message": "ac5c15e7402ffe02",
    "Queue.approximate_number_of_messages": "462cfbb2c33f78f8",
    "Queue.approximate_number_of_messages_delayed": "b2b51c74ced2a490",
    "Queue.approximate_number_of_messages_not_visible": "a4c6e7d83400c855",
    "Message.mark_received": "bb6a34cf2bbccea3",
    "Message.had_receipt_handle": "e055aa2f87e34eeb",
    "Message.visible": "6c294e2d55cee705",
    "Message.delayed": "20e99c906270ce1c",
    "SQSBackend.receive_message": "81c953549248ab14",
    "Message.change_visibility": "e21b245279c29b13",
}


def source_of(qualified: str) -> str:
    """A method's source as moto's file has it (the class's source is read from the file, unpatched)."""
    from moto.sqs import models

    class_name, attribute = qualified.split(".")
    text = inspect.getsource(getattr(models, class_name))
    start = text.index(f"def {attribute}(")
    ends = [i for i in (text.find("\n    def ", start), text.find("\n    @", start)) if i != -1]
    return text[start : min(ends, default=len(text))]


def fingerprint(qualified: str) -> str:
    return hashlib.sha256(source_of(qualified).encode()).hexdigest()[:16]


pytestmark = pytest.mark.skipif(
    not moto_speedups.verified(),
    reason=f"moto {moto_speedups.installed_version()} is not {moto_speedups.PINNED}, the version the speed-ups were "
    "verified on: the embedded engine runs plain moto (CI installs the pinned one from .ci/constraints.txt)",
)


def test_moto_is_the_pinned_version_and_the_patched_code_unchanged() -> None:
    changed = {name: fingerprint(name) for name, expected in FINGERPRINTS.items() if fingerprint(name) != expected}
    assert changed == {}, f"moto's patched code changed (update the fingerprints after checking): {changed}"


@pytest.fixture
def backend() -> Any:
    """moto's SQS backend in this process, patched."""
    assert moto_speedups.apply()
    from moto.sqs.models import sqs_backends

    return sqs_backends["123456789012"]["us-east-1"]


def test_sends_and_deletes_do_not_scan_the_queue(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs import models

    name = f"depth-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    for n in range(2_000):
        backend.send_message(name, f"m{n}")
    looked_at: list[int] = []
    visible = models.Message.visible.fget

    def counting(self: Any) -> bool:
        looked_at.append(1)
        return bool(visible(self))

    monkeypatch.setattr(models.Message, "visible", property(counting))
    for n in range(10):
        backend.send_message(name, f"b{n}")
    assert looked_at == []  # a send reads the queue's attributes, and no longer counts its messages for that
    received = backend.receive_message(name, 10, 0, 30)
    assert len(received) == 10
    looked_at.clear()
    for message in received:
        backend.delete_message(name, message.receipt_handle)
    assert looked_at == []  # no message was looked at: the receipt handle found its message
    counts = backend.get_queue_attributes(
        name, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == (2_000, 0)


def test_the_patched_engine_keeps_sqs_semantics(backend: Any) -> None:
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    name = f"same-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    backend.send_message(name, "now")
    backend.send_message(name, "later", delay_seconds=60)
    (first,) = backend.receive_message(name, 10, 0, 30)
    names = ["All"]
    counts = backend.get_queue_attributes(name, names)
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
        counts["ApproximateNumberOfMessagesDelayed"],
    ) == (0, 1, 1)
    old_handle = first.receipt_handle
    backend.change_message_visibility(name, old_handle, 0)
    (again,) = backend.receive_message(name, 10, 0, 30)
    assert again.receipt_handle != old_handle
    backend.delete_message(name, old_handle)  # an earlier handle of the message still deletes it, as in moto
    backend.delete_message(name, again.receipt_handle)  # deleting twice is fine
    with pytest.raises(ReceiptHandleIsInvalid):
        backend.delete_message(name, "not-a-handle")
    assert backend.get_queue_attributes(name, ["ApproximateNumberOfMessages"])["ApproximateNumberOfMessages"] == 0
    fifo = f"same-{uuid.uuid4().hex[:8]}.fifo"
    backend.create_queue(fifo, FifoQueue="true", ContentBasedDeduplication="true")
    for _ in range(2):
        backend.send_message(fifo, "same body", group_id="g")
    assert len(backend.receive_message(fifo, 10, 0, 30)) == 1  # content-based deduplication still applies


def test_a_failed_standard_batch_does_not_come_back_held_together(backend: Any) -> None:
    """SQS promises no order on a standard queue: a batch whose visibility ran out is mixed with the other
    visible messages, not handed back as the same ten. Fresh messages keep their order (SQS's best
    effort), and a FIFO queue keeps its order."""
    import time

    name = f"mixed-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name)
    for n in range(30):
        backend.send_message(name, str(n))
    failed = {m.body for m in backend.receive_message(name, 10, 0, 1)}  # a batch that fails: not deleted
    assert failed == {str(n) for n in range(10)}  # fresh: in the order sent
    time.sleep(1.2)
    again = {m.body for m in backend.receive_message(name, 10, 0, 30)}
    assert len(again) == 10 and again != failed  # by chance: 1 in 30,045,015
    fifo = f"mixed-{uuid.uuid4().hex[:8]}.fifo"
    backend.create_queue(fifo, FifoQueue="true", ContentBasedDeduplication="true")
    for n in range(10):
        backend.send_message(fifo, str(n), group_id=f"g{n % 2}")
    received = [m.body for m in backend.receive_message(fifo, 10, 0, 30)]
    assert received == [str(n) for n in range(10)]  # groups, and order within each, as sent
