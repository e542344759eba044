"""Speed-ups for moto's SQS hot paths, applied inside the embedded engine's process.

moto 5.2's SQS is O(queue depth) on every call: ``SendMessage`` reads ``queue.attributes``, which builds
every attribute, the three ``ApproximateNumberOf*`` counts included (a scan of every message each);
every scan calls ``unix_time_millis()``, datetime arithmetic, twice per message; and ``DeleteMessage``
scans the queue twice, building a list of receipt handles per message. Four small changes, each of
which could go upstream as it is:

1. ``unix_time_millis()`` without an argument reads ``time.time()`` (the same value, about 50 times cheaper), and
   ``queue.messages`` reads the clock once per scan (the same two conditions per message);
2. ``queue.attributes`` computes the three counts only when one of them is read (a send reads none), and
   attribute names are converted once (``camelcase_to_underscores`` is a regex, called per attribute);
3. a receipt handle is indexed when it is issued, so ``DeleteMessage`` finds its message at once;
4. ``Message.had_receipt_handle`` checks without building a list (for the fallback scan).

Two more are about behaviour, not cost. Receives from a FIFO queue are serialised per queue (moto picks a
batch without a lock, so two pollers could share one message group). A receive from a standard queue
sees each message that is back from a visibility timeout with probability 1/2, at a random place among
the others, as SQS's distributed store and Lambda's concurrent pollers split a failed batch: moto scans
in insertion order, so a failed batch came back as the same ten messages in the same order, and one
slow job dragged its nine neighbours to the DLQ with it. Messages never received, or released at once
(visibility 0, as a stopping worker does), keep their order (SQS's best effort); FIFO queues keep theirs.

One refuses what SQS refuses: a body or string attribute holding a character outside SQS's set (``\x00``,
say) is ``InvalidMessageContents``, per entry in a batch, where moto stored it, so code that works
locally would fail on AWS. One is an addition: ``GetQueueAttributes(All)`` also answers
``ApproximateAgeOfOldestMessage`` (seconds; on AWS a CloudWatch metric), from the same pass as the
counts, for the job inspector's overview.

They are applied only to the moto they were verified on (:data:`PINNED`); any other version runs
unpatched, slower, and ``sqs-lambda local`` says so in one line at start (:func:`unverified_notice`).
``tests/local/test_moto_speedups.py`` fails loudly when the pinned moto's patched code changes.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
import weakref
from typing import Any

PINNED = "5.2.5"
COUNT_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)

# AWS publishes a queue's oldest message's age as a CloudWatch metric only; the engine also answers it as an
# attribute of GetQueueAttributes(All), in seconds, so the job inspector gets it in the same call.
AGE_ATTRIBUTE = "ApproximateAgeOfOldestMessage"
FILLED = (*COUNT_ATTRIBUTES, AGE_ATTRIBUTE)

_building = threading.local()  # set while moto builds a queue's attributes: the counts wait
_receiving = threading.local()  # set while moto runs a standard queue's ReceiveMessage: no order
_DEFERRED = object()
_receipts: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def installed_version() -> str:
    """moto's version, read from its metadata (moto itself is not imported)."""
    from importlib.metadata import version

    return version("moto")


def verified() -> bool:
    """The speed-ups were verified against the installed moto."""
    return installed_version() == PINNED


def unverified_notice() -> str | None:
    """The one line the local runtime says at start when the installed moto runs unpatched."""
    if verified():
        return None
    return (
        f"moto {installed_version()}: the embedded engine runs plain moto (its speed-ups were verified on "
        f"{PINNED} only); correct, but slower in deep queues"
    )


def apply() -> bool:
    """Patch moto's SQS models in this process; False (and nothing changed) on another moto version."""
    if not verified():
        return False
    from moto.core import utils
    from moto.sqs import models

    if getattr(models, "_sqs_lambda_patched", False):
        return True
    original_millis = utils.unix_time_millis

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(original_millis(dt))

    models.unix_time_millis = unix_time_millis
    models.camelcase_to_underscores = functools.lru_cache(maxsize=512)(models.camelcase_to_underscores)
    _scan_with_one_clock(models.Queue)
    _defer_counts(models.Queue)
    _index_receipts(models.Message, models.Queue)
    _serialize_fifo_receives(models.SQSBackend)
    _sample_standard_receives(models.SQSBackend, models.Message)
    _refuse_what_sqs_refuses(models.SQSBackend)
    models._sqs_lambda_patched = True  # type: ignore[attr-defined]
    return True


class LazyAttributes(dict[str, Any]):
    """A queue's attributes whose ``ApproximateNumberOf*`` counts are computed on first read."""

    def __init__(self, values: dict[str, Any], queue: Any) -> None:
        super().__init__(values)
        self._queue: Any = queue

    def _fill(self) -> None:
        queue, self._queue = self._queue, None
        if queue is None:
            return
        now = time.time() * 1000.0  # one clock read and one pass for the three counts
        available = delayed = not_visible = 0
        oldest = now
        for message in queue._messages:
            is_visible, is_delayed = now > message.visible_at, now < message.delayed_until
            available += is_visible and not is_delayed
            delayed += is_delayed
            not_visible += not is_visible
            oldest = min(oldest, message.sent_timestamp or now)
        values = dict(zip(COUNT_ATTRIBUTES, (available, delayed, not_visible), strict=True))
        values[AGE_ATTRIBUTE] = int((now - oldest) / 1000)
        dict.update(self, values)

    def __getitem__(self, key: str) -> Any:
        if key in FILLED:
            self._fill()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in FILLED:
            self._fill()
        return dict.get(self, key, default)

    def __iter__(self) -> Any:  # also steers dict(...) and {**...} off their raw fast path
        self._fill()
        return dict.__iter__(self)

    def items(self) -> Any:
        self._fill()
        return dict.items(self)

    def values(self) -> Any:
        self._fill()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        self._fill()
        return dict(self)

    def __eq__(self, other: object) -> bool:
        self._fill()
        return dict.__eq__(self, other)

    __hash__ = None


def _property(attribute: str) -> str:
    from moto.core.utils import camelcase_to_underscores

    return str(camelcase_to_underscores(attribute))


def _defer_counts(queue_class: Any) -> None:
    """``queue.attributes`` builds everything but the three counts, which it computes when read."""
    build = queue_class.attributes.fget
    for name in COUNT_ATTRIBUTES:
        count = getattr(queue_class, _property(name)).fget

        def deferred(self: Any, count: Any = count) -> Any:
            return _DEFERRED if getattr(_building, "active", False) else count(self)

        setattr(queue_class, _property(name), property(deferred))

    def attributes(self: Any) -> LazyAttributes:
        _building.active = True
        try:
            values = build(self)
        finally:
            _building.active = False
        return LazyAttributes(values, self)

    queue_class.attributes = property(attributes)


def _scan_with_one_clock(queue_class: Any) -> None:
    """``queue.messages`` (visible and not delayed) reads the clock once per scan, not twice per message."""

    def messages(self: Any) -> list[Any]:
        now = time.time() * 1000.0
        visible = [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]
        if getattr(_receiving, "standard", False) and not self.fifo_queue:
            return _scattered(visible)
        return visible

    queue_class.messages = property(messages)


def _serialize_fifo_receives(backend_class: Any) -> None:
    """One ReceiveMessage at a time per FIFO queue: moto picks a batch without a lock, so two concurrent
    receives could both take messages of one group, and a later message could run before an earlier one
    failed (SQS never hands out a group that has messages in flight)."""
    receive = backend_class.receive_message
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        if not queue_name.endswith(".fifo"):
            return receive(self, queue_name, *args, **kwargs)
        with guard:
            lock = locks.setdefault(queue_name, threading.Lock())
        with lock:
            return receive(self, queue_name, *args, **kwargs)

    backend_class.receive_message = receive_message


def _timed_out(message: Any) -> bool:
    """Received, and visible again because its visibility timeout ran out (not released at once)."""
    return bool(message.approximate_receive_count) and not getattr(message, "_sqs_lambda_released", False)


def _scattered(visible: list[Any]) -> list[Any]:
    """Messages never received, or released at once (visibility 0), keep their order (SQS's best
    effort). Of those back from a visibility timeout, a receive sees each with probability 1/2 (at least
    one when nothing else is visible), at a random place among the others: as Lambda's concurrent pollers
    and SQS's distributed store split a failed batch up, so one slow job does not keep failing its nine
    neighbours."""
    returned = [m for m in visible if _timed_out(m)]
    if not returned:
        return visible
    fresh = [m for m in visible if not _timed_out(m)]
    seen = [m for m in returned if random.random() < 0.5] or ([] if fresh else [random.choice(returned)])
    for message in seen:
        fresh.insert(random.randint(0, len(fresh)), message)
    return fresh


def _sample_standard_receives(backend_class: Any, message_class: Any) -> None:
    """A ReceiveMessage on a standard queue scans its visible messages as :func:`_scattered` says; a
    message released at once (``ChangeMessageVisibility`` to 0) is marked, until it is received again."""
    receive = backend_class.receive_message
    change_visibility = message_class.change_visibility

    def marked_change_visibility(self: Any, visibility_timeout: int) -> None:
        change_visibility(self, visibility_timeout)
        self._sqs_lambda_released = int(visibility_timeout) == 0

    message_class.change_visibility = marked_change_visibility

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        _receiving.standard = not queue_name.endswith(".fifo")
        try:
            return receive(self, queue_name, *args, **kwargs)
        finally:
            _receiving.standard = False

    backend_class.receive_message = receive_message


def _index_receipts(message_class: Any, queue_class: Any) -> None:
    """Receipt handle -> message, kept as handles are issued; deletes find their message at once."""
    mark_received = message_class.mark_received

    def indexed_mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        self._sqs_lambda_released = False  # received again: back from a timeout next time, unless released
        mark_received(self, visibility_timeout)
        _receipts[self.receipt_handle] = self

    def had_receipt_handle(self: Any, receipt_handle: str) -> bool:
        return bool(receipt_handle == self.receipt_handle or receipt_handle in self._old_receipt_handles)

    scan_delete = queue_class.delete_message

    def delete_message(self: Any, receipt_handle: str) -> None:
        message = _receipts.get(receipt_handle)
        if receipt_handle in self.deleted_messages or message is None:
            scan_delete(self, receipt_handle)  # moto's own path: already deleted, or not issued here
            return
        try:
            self._messages.remove(message)  # identity comparison, in C: fast even at depth
        except ValueError:
            scan_delete(self, receipt_handle)  # another queue's handle: moto raises as before
            return
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)

    message_class.mark_received = indexed_mark_received
    message_class.had_receipt_handle = had_receipt_handle
    queue_class.delete_message = delete_message


def _refused_content(body: str, attributes: dict[str, Any] | None) -> str | None:
    """SQS's reason to refuse a body or string attribute for a character it does not accept, or None."""
    from sqs_lambda.wire.envelope import refused_character

    for text in [body, *(str(a["StringValue"]) for a in (attributes or {}).values() if "StringValue" in a)]:
        refused = refused_character(text)
        if refused is not None:
            return f"Invalid characters found. Deleted character #x{ord(refused[1]):X} at position {refused[0]}"
    return None


def _refuse_what_sqs_refuses(backend_class: Any) -> None:
    """A body or string attribute holding a character SQS does not accept is refused, as SQS does:
    ``InvalidMessageContents``, per entry in a batch (``SenderFault`` true). moto stores it as it is."""
    from moto.sqs.exceptions import SQSException

    send_one, send_batch = backend_class.send_message, backend_class.send_message_batch

    def send_message(
        self: Any, queue_name: str, message_body: str, message_attributes: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        reason = _refused_content(message_body, message_attributes)
        if reason is not None:
            raise SQSException("InvalidMessageContents", reason)
        return send_one(self, queue_name, message_body, message_attributes, *args, **kwargs)

    def send_message_batch(self: Any, queue_name: str, entries: dict[str, dict[str, Any]]) -> Any:
        refused, kept = [], {}
        for key, entry in entries.items():
            reason = _refused_content(entry["MessageBody"], entry.get("MessageAttributes"))
            if reason is None:
                kept[key] = entry
            else:
                refused.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": reason}
                )
        messages, failed = send_batch(self, queue_name, kept) if kept else ([], [])
        return messages, [*failed, *refused]

    backend_class.send_message = send_message
    backend_class.send_message_batch = send_message_batch


def serve(argv: list[str] | None = None) -> None:
    """``python -m sqs_lambda_dev.engine.moto_speedups -H host -p port``: moto's server, patched. It exits when
    the process named by ``$SQS_LAMBDA_ENGINE_PARENT`` is gone, so a killed runtime leaves no orphan."""
    parent = os.environ.get("SQS_LAMBDA_ENGINE_PARENT")
    if parent:
        threading.Thread(target=_exit_with_parent, args=(int(parent),), daemon=True, name="parent-watch").start()
    apply()
    from moto.server import main

    main(argv)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    serve()
