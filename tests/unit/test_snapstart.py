"""SnapStart's runtime hooks, through AWS's own ``snapshot_restore_py``: registered only when Lambda
initialises for a snapshot; before it, the first invocation's work is done; after a restore, random state
and clients are made anew."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator

import pytest
import snapshot_restore_py

from sqs_lambda import Router, aws, settings
from sqs_lambda.consuming import snapstart


@pytest.fixture
def snap_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    settings.expire()
    monkeypatch.setattr(snapstart, "_routers", [])
    monkeypatch.setattr(snapstart, "_registered", False)
    snapshot_restore_py.get_before_snapshot().clear()
    snapshot_restore_py.get_after_restore().clear()
    yield
    snapshot_restore_py.get_before_snapshot().clear()
    snapshot_restore_py.get_after_restore().clear()
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE")
    settings.expire()


def hooks(registry: list[object]) -> list[object]:
    return [entry[0] if isinstance(entry, tuple) else entry for entry in registry]


def test_outside_snapstart_nothing_is_registered_or_imported() -> None:
    code = (
        "import sys\n"
        "from sqs_lambda import Router\n"
        "Router()\n"
        "assert 'snapshot_restore_py' not in sys.modules and 'sqs_lambda.consuming.snapstart' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_under_snapstart_the_hooks_are_registered_once(snap_start: None) -> None:
    Router()
    Router()
    assert hooks(snapshot_restore_py.get_before_snapshot()) == [snapstart.before_snapshot]
    assert hooks(snapshot_restore_py.get_after_restore()) == [snapstart.after_restore]


def test_before_the_snapshot_the_first_invocations_work_is_done(snap_start: None) -> None:
    router = Router()

    @router.job()
    def resize(width: int) -> None:
        pass

    assert "schema" not in vars(router.jobs["resize"])  # built lazily, on first use
    snapstart.before_snapshot()
    assert "schema" in vars(router.jobs["resize"])  # now in the snapshot


def test_after_a_restore_random_state_and_clients_are_new(snap_start: None) -> None:
    random.seed(42)  # two environments restored from one snapshot share this state
    shared = random.random()
    random.seed(42)
    client = aws.client("sqs", "us-east-1")
    snapstart.after_restore()
    assert random.random() != shared
    assert aws.client("sqs", "us-east-1") is not client
