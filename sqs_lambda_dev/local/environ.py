"""Per-function environment variables in one process.

Lambda gives each function its own environment; the local runtime hosts every function in one
process. :func:`install` replaces ``os.environ`` with a mapping that first consults the variables of
the function running in the current thread (a context variable), then the real environment. Code that
reads ``os.environ``/``os.getenv`` (boto3 included) sees its own function's values; writes go to the
real environment. Child processes see the real environment only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar

_overlay: ContextVar[Mapping[str, str] | None] = ContextVar("sqs_lambda_function_environment", default=None)


class FunctionEnviron(MutableMapping[str, str]):
    def __init__(self, real: MutableMapping[str, str]) -> None:
        self.real = real

    def __getitem__(self, key: str) -> str:
        overlay = _overlay.get()
        if overlay is not None and key in overlay:
            return overlay[key]
        return self.real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        del self.real[key]

    def __iter__(self) -> Iterator[str]:
        overlay = _overlay.get() or {}
        yield from overlay
        yield from (key for key in self.real if key not in overlay)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


def install() -> None:
    if not isinstance(os.environ, FunctionEnviron):
        os.environ = FunctionEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - a view, not a reset


def uninstall() -> None:
    if isinstance(os.environ, FunctionEnviron):
        os.environ = os.environ.real  # type: ignore[assignment]  # noqa: B003 - restores the original


@contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Within the block (in this thread or task), the environment shows ``variables`` on top."""
    token = _overlay.set(dict(variables))
    try:
        yield
    finally:
        _overlay.reset(token)
