"""A job in a peer's format, before it is mapped onto a registered job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ForeignJob:
    """A job from a peer's format: positional ``args`` are mapped by the handler's signature."""

    __slots__ = ("args", "context", "expires", "fmt", "id", "job", "kwargs", "not_before")

    def __init__(
        self,
        fmt: str,
        job: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        id: str = "",
        context: Mapping[str, Any] | None = None,
        not_before: str | None = None,
        expires: str | None = None,
    ) -> None:
        self.fmt, self.job, self.args, self.kwargs, self.id = fmt, job, list(args), dict(kwargs), id
        self.context, self.not_before, self.expires = dict(context or {}) or None, not_before, expires
