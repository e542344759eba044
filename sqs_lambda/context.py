"""Job context: request and trace ids that travel with envelopes.

``with context(request_id="abc"):`` stamps every envelope sent inside the block. While a job runs, its
envelope's context is current, so the jobs it enqueues carry the same ids (a correlation chain).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_current: ContextVar[Mapping[str, Any]] = ContextVar("sqs_lambda_context", default=MappingProxyType({}))
CURRENT = _current  # the variable itself, for the per-record path (``CURRENT.get()`` is falsy when empty)
# The Lambda context of the invocation being handled (None outside one): idempotent jobs register it,
# so that an in-progress key expires with the invocation.
INVOCATION: ContextVar[Any] = ContextVar("sqs_lambda_invocation", default=None)


def current_context() -> Mapping[str, Any]:
    """The context of the job running now (or of the enclosing ``context()`` block); read-only."""
    return _current.get()


@contextmanager
def context(**values: Any) -> Iterator[Mapping[str, Any]]:
    """Add ``values`` to the current context for the duration of the block."""
    merged = MappingProxyType({**_current.get(), **values})
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


@contextmanager
def running_with(values: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any]]:
    """Make an envelope's context current while its job runs (replacing, not merging)."""
    token = _current.set(MappingProxyType(dict(values or {})))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
