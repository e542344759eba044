"""The README's examples are real: its test example is this folder's test file, verbatim."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_testing_example_is_the_tested_file() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(# tests/test_my_jobs.py\n.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == (Path(__file__).parent / "test_my_jobs.py").read_text()


def test_readme_quick_start_matches_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .*)\n```", readme)
    assert len(commands) == 2
    assert "sqs-lambda local --demo --until-idle" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def snippet(heading: str) -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"## {heading}\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def test_the_effectively_once_example_runs(sqs_local: object, sqs_queue: object, idempotency_table: str) -> None:
    namespace: dict[str, object] = {}
    exec(snippet("Effectively once"), namespace)
    router = namespace["router"]
    assert sorted(router.jobs) == ["charge", "process_file"]  # type: ignore[attr-defined]
    policy = router.jobs["process_file"].policy  # type: ignore[attr-defined]
    assert policy.idempotency.expires_after == 24 * 3600 and policy.idempotency.key_of({"file_id": "f"}) == "f"


def python_snippets() -> list[tuple[str, str]]:
    """Every ```python block of the README, with the heading it stands under."""
    readme = (ROOT / "README.md").read_text()
    found = []
    for match in re.finditer(r"```python\n(.*?)```", readme, re.S):
        heading = [line for line in readme[: match.start()].splitlines() if line.startswith("#")][-1]
        found.append((heading.lstrip("# "), match.group(1)))
    return found


SNIPPETS = python_snippets()


@pytest.mark.parametrize(("heading", "code"), SNIPPETS, ids=[heading for heading, _ in SNIPPETS])
def test_every_python_snippet_runs_as_written(sqs_local: Any, heading: str, code: str) -> None:
    """Against the embedded engine (the plugin points boto3 at it), with the queues and bucket the
    snippets name created first: nothing is added to the snippet itself."""
    from sqs_lambda import aws

    for name in ("jobs", "prod-jobs"):
        sqs_local.backend.client().create_queue(QueueName=name)
    aws.client("s3").create_bucket(Bucket="my-payloads")
    try:
        exec(compile(code, f"README.md ({heading})", "exec"), {"__name__": "readme_snippet"})
    finally:
        forget_global_tracer_provider()


def forget_global_tracer_provider() -> None:
    """The tracing snippet sets OpenTelemetry's global provider, once per process by design: the other
    tests must not trace into it (OpenTelemetry's own tests reset it the same way)."""
    import sys

    trace = sys.modules.get("opentelemetry.trace")
    if trace is not None and trace._TRACER_PROVIDER is not None:
        from opentelemetry.util._once import Once

        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = Once()


def test_the_large_payloads_example_sends_a_pointer(sqs_local: Any) -> None:
    from sqs_lambda import aws

    aws.client("s3").create_bucket(Bucket="my-payloads")
    sqs_local.backend.client().create_queue(QueueName="jobs")
    before = aws.client("s3").list_objects_v2(Bucket="my-payloads")["KeyCount"]
    exec(snippet("Large payloads"), {})
    assert aws.client("s3").list_objects_v2(Bucket="my-payloads")["KeyCount"] == before + 1


def test_the_tracing_snippet_turns_tracing_on_and_leaves_it_off_for_the_others(sqs_local: Any) -> None:
    from sqs_lambda import otel

    (code,) = [code for heading, code in SNIPPETS if "OpenTelemetry" in heading]
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    try:
        exec(compile(code, "README.md (tracing)", "exec"), namespace)
        assert otel.tracer() is not None
    finally:
        forget_global_tracer_provider()
    assert otel.tracer() is None
