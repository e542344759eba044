from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest

from sqs_lambda import JobArgumentError, Router, context, current_context
from sqs_lambda.errors import ConfigurationError, NoRouteError, UnknownJobError
from sqs_lambda_testing import sqs_record


def test_job_name_defaults_to_function_name_and_can_be_given() -> None:
    router = Router()

    @router.job()
    def process_file(file_id: str) -> None: ...

    @router.job("emails.send")
    def send_email(to: str) -> None: ...

    assert set(router.jobs) == {"process_file", "emails.send"}
    assert process_file.name == "process_file" and send_email.name == "emails.send"


def test_duplicate_job_names_are_refused() -> None:
    router = Router()
    router.job("x")(lambda: None)
    with pytest.raises(ConfigurationError, match="already registered"):
        router.job("x")(lambda: None)


def test_calling_a_job_directly_points_to_run_and_delay() -> None:
    router = Router()

    @router.job()
    def work(n: int) -> int:
        return n

    with pytest.raises(TypeError, match=r"work\.run\(\.\.\.\).*work\.delay\(\.\.\.\)"):
        work(1)
    assert work.run(n=2) == 2


def test_run_validates_types_and_names() -> None:
    router = Router()

    @router.job()
    def work(n: int, when: dt.datetime | None = None) -> object:
        return when

    with pytest.raises(JobArgumentError, match=r"job 'work'.*Expected `int`, got `str` - at `\$.n`"):
        work.run(n="x")
    with pytest.raises(TypeError, match="missing required field `n`"):
        work.run()
    with pytest.raises(TypeError, match="unknown field `m`"):
        work.run(n=1, m=2)
    assert work.run(n=1, when=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_context_parameter_and_current_context() -> None:
    router = Router()
    seen: list[object] = []

    @router.job()
    def work(context: dict[str, str]) -> None:
        seen.append((context, dict(current_context())))

    with context(request_id="r1"):
        work.run()
    assert seen == [({"request_id": "r1"}, {"request_id": "r1"})]


def test_kwargs_handlers_accept_extra_arguments() -> None:
    router = Router()

    @router.job()
    def work(n: int, **rest: object) -> object:
        return (n, rest)

    assert work.run(n=1, extra="x") == (1, {"extra": "x"})
    with pytest.raises(TypeError):
        work.run(n="bad")


def test_args_signatures_are_refused_at_registration() -> None:
    router = Router()

    @router.job()
    def bad(*items: int) -> None: ...

    with pytest.raises(ConfigurationError, match=r"\*args"):
        bad.run()


def test_prepare_names_message_and_reason() -> None:
    router = Router()
    router.job("known")(lambda: None)
    with pytest.raises(UnknownJobError, match=r"message m1 \(job 'nope'\): no job named 'nope'.*known"):
        router.prepare(sqs_record(("nope", {})), "m1")
    with pytest.raises(NoRouteError, match="message m2: the body is not JSON"):
        router.prepare(sqs_record("plain text"), "m2")
    with pytest.raises(NoRouteError, match="EventBridge event and no raw route"):
        router.prepare(sqs_record({"source": "aws.events", "detail-type": "Scheduled Event"}), "m3")


def test_raw_routes_match_in_order() -> None:
    router = Router()
    hits: list[str] = []
    router.raw(source="aws.events", detail_type="Scheduled Event")(lambda e: hits.append("schedule"))
    router.raw(match=lambda body: isinstance(body, dict) and body.get("kind") == "ping")(lambda e: hits.append("ping"))
    router.raw(text=True)(lambda e: hits.append(f"text:{e}"))
    for body in ({"source": "aws.events", "detail-type": "Scheduled Event"}, {"kind": "ping"}, "hello", [1]):
        call = router.prepare(sqs_record(body), "m")
        call.target(*call.args)
    assert hits == ["schedule", "ping", "text:hello", "text:[1]"]


def test_importing_the_package_and_a_router_function_does_not_import_boto3(tmp_path: object) -> None:
    code = textwrap.dedent("""
        import sys
        from sqs_lambda import Router
        from sqs_lambda_dev.events import sqs_event
        router = Router()
        @router.job()
        def work(n: int) -> None: pass
        out = router.lambda_handler(sqs_event(("work", {"n": 1}), ("work", {"n": 2})), None)
        assert out == {"batchItemFailures": []}, out
        print("boto3" in sys.modules)  # Powertools itself loads the top of botocore, never boto3
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]
