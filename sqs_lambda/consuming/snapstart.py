"""SnapStart for Python: the router's runtime hooks, registered through ``snapshot_restore_py`` (which
Lambda's managed Python runtimes include) when Lambda initialises the function for a snapshot
(``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``). Elsewhere nothing is imported and nothing happens.

- Before the snapshot, the work the first invocation would do is done, so every restored environment
  starts with it: Powertools' logger, each job's argument schema and decoder, the envelope codec (one
  envelope encoded and decoded), and, with ``SQS_LAMBDA_PREWARM``, the failure path.
- After a restore, what must be unique per environment is made anew: the random module's state, and
  every cached AWS client (with its connections and credentials) and the settings snapshot; the queues'
  facts are kept.

Hooks run in registration order after a restore (within 10 s) and in reverse order before a snapshot.
"""

from __future__ import annotations

import random
from typing import Any

from .. import settings

_routers: list[Any] = []  # the routers built in this environment (anything with ``jobs``)
_registered = False


def register(router: Any) -> bool:
    """Remember ``router`` for the before-snapshot work; register the hooks once. False (and nothing
    imported) unless Lambda initialises for SnapStart and ``snapshot_restore_py`` is importable."""
    global _registered
    if not settings.current().snap_start:
        return False
    _routers.append(router)
    if _registered:
        return True
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    _registered = True
    return True


def before_snapshot() -> None:
    """Do the first invocation's import-time work now, into the snapshot."""
    from .. import observe
    from ..wire import envelope

    observe.logger()
    for router in _routers:
        for job in router.jobs.values():
            job.schema  # noqa: B018 - built (and kept) on first read
    body, _ = envelope.encode("snapshot", {"warm": True})
    envelope.decode(body)
    if settings.current().prewarm:
        from .prewarm import prewarm

        prewarm()


def after_restore() -> None:
    """Make anew what must not be shared by environments restored from one snapshot."""
    from ..aws.clients import forget_clients

    random.seed()  # else every restored environment draws the same numbers
    forget_clients()  # their connections and credentials; queue facts stay (they are not secrets)
