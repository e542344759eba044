"""Scripts, workers and Django pointed at a local endpoint need no AWS set-up (#20, item 3).

Each runs in a subprocess with a clean environment (no region, no keys, no ~/.aws), as on a new
machine. Before the fix each failed with NoRegionError, then NoCredentialsError.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqs_lambda.wire import envelope
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

ROOT = Path(__file__).resolve().parents[2]


def clean_environment(home: Path, **variables: str) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SQS_LAMBDA_"))}
    return {**kept, "HOME": str(home), "PYTHONPATH": str(home), **variables}


def run(code: str, home: Path, *arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    script = home / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script), *arguments],
        env=clean_environment(home, **variables),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
    )


def test_a_producer_script_with_the_readme_variable_sends(
    sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path
) -> None:
    done = run(
        """
        import sys
        from sqs_lambda import Producer
        print(Producer(queue_url=sys.argv[1]).send("hello", name="ada"))
        """,
        tmp_path,
        sqs_queue.url,
        AWS_ENDPOINT_URL_SQS=sqs_local.url,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"sqs-lambda: {sqs_local.url} is a local endpoint: using region us-east-1 and local dummy credentials"
    ]
    (message,) = sqs_local.receive(sqs_queue.url)
    assert '"job":"hello"' in message["Body"]


def test_own_region_and_keys_are_kept_and_nothing_is_said(
    sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path
) -> None:
    done = run(
        """
        import sys
        from sqs_lambda import Producer
        Producer(queue_url=sys.argv[1]).send("hello", name="bob")
        """,
        tmp_path,
        sqs_queue.url,
        AWS_ENDPOINT_URL_SQS=sqs_local.url,
        AWS_REGION="us-east-1",  # moto keeps queues per region
        AWS_ACCESS_KEY_ID="mine",
        AWS_SECRET_ACCESS_KEY="mine",
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert len(sqs_local.receive(sqs_queue.url)) == 1


def test_python_m_worker_with_an_endpoint_url(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(
        textwrap.dedent(
            """
            from sqs_lambda import Router
            router = Router()
            ran = []

            @router.job()
            def hello(name: str) -> None:
                print("ran", name, flush=True)
            """
        )
    )
    sqs_local.backend.send(sqs_queue.url, envelope.encode("hello", {"name": "eve"})[0])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqs_lambda.worker",
            "jobs:router",
            "--queue",
            sqs_queue.url,
            "--endpoint-url",
            sqs_local.url,
            "--shutdown",
            "after:1",
            "--wait",
            "1",
        ],
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "ran eve" in done.stdout
    assert sqs_local.backend.counts(sqs_queue.url).total == 0


def test_django_settings_with_region_none(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(
        "from sqs_lambda import Router\nrouter = Router()\n\n@router.job()\ndef ship(order: int) -> None: ...\n"
    )
    done = run(
        """
        import sys
        import django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS=["sqs_lambda.contrib.django"],
            SQS_LAMBDA={"ROUTER": "jobs:router", "QUEUE": sys.argv[1], "ENDPOINT_URL": sys.argv[2], "REGION": None},
        )
        django.setup()
        import jobs
        jobs.ship.delay(order=7)
        """,
        tmp_path,
        sqs_queue.url,
        sqs_local.url,
    )
    assert done.returncode == 0, done.stderr
    (message,) = sqs_local.receive(sqs_queue.url)
    assert '"job":"ship"' in message["Body"]
