"""The README's examples are real: its test example is this folder's test file, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_the_large_payloads_example_runs(sqs_local: object, sqs_queue: object) -> None:
    from sqs_lambda import aws

    aws.client("s3").create_bucket(Bucket="my-payloads")
    namespace: dict[str, object] = {
        "queue_url": sqs_queue.url,  # type: ignore[attr-defined]
        "three_mib_of_text": "x" * (3 * 1024 * 1024),
    }
    exec(snippet("Large payloads"), namespace)
    assert aws.client("s3").list_objects_v2(Bucket="my-payloads")["KeyCount"] == 1
