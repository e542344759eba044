"""The configuration seam: settings read from the environment in one module, one queue reference, one
AWS configuration value."""

from __future__ import annotations

import dataclasses

import pytest

from sqs_lambda import Router, aws, settings
from sqs_lambda.aws import AwsConfig
from sqs_lambda.errors import ConfigurationError
from sqs_lambda.producing.queues import QueueRef
from sqs_lambda_testing import InMemoryQueue


def test_a_snapshot_reads_each_variable_once_and_a_new_one_reads_again() -> None:
    environ = {"SQS_LAMBDA_METRICS": "true", "SQS_LAMBDA_STAGE": "dev", "AWS_DEFAULT_REGION": "eu-west-1"}
    snapshot = settings.Settings(environ)
    assert (snapshot.metrics, snapshot.stage, snapshot.region, snapshot.tracing) == (True, "dev", "eu-west-1", False)
    environ["SQS_LAMBDA_METRICS"] = "false"
    assert snapshot.metrics is True  # kept: one read per snapshot
    assert settings.Settings(environ).metrics is False
    assert settings.Settings({}).metrics_namespace == "sqs-lambda"
    assert settings.Settings({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}).endpoints("sqs") == (
        None,
        "http://127.0.0.1:1",
    )


def test_each_invocation_takes_the_environment_as_it_is_then(monkeypatch: pytest.MonkeyPatch) -> None:
    router = Router()
    seen: list[bool] = []

    @router.raw()
    def look(value: object) -> None:
        seen.append(settings.current().log_arguments)

    event = {"Records": [{"messageId": "m", "body": "{}", "attributes": {"ApproximateReceiveCount": "1"}}]}
    monkeypatch.setenv(settings.LOG_ARGUMENTS, "false")
    router.lambda_handler(event, None)
    monkeypatch.setenv(settings.LOG_ARGUMENTS, "true")
    router.lambda_handler(event, None)
    assert seen == [False, True]


def test_a_queue_reference_is_a_url_or_a_name_the_stage_prefixes() -> None:
    port = InMemoryQueue()
    assert QueueRef.parse("https://sqs.eu-west-1.amazonaws.com/1/jobs", "dev").resolve(port).endswith("/1/jobs")
    assert QueueRef.parse("jobs", "dev").full_name == "dev-jobs"
    assert QueueRef.parse("jobs").resolve(port) == "memory://jobs"
    assert QueueRef.parse("jobs", "prod").resolve(port) == "memory://prod-jobs"
    assert str(QueueRef(name="jobs", stage="dev")) == "dev-jobs"
    with pytest.raises(ConfigurationError, match="queue URL or name"):
        QueueRef()


def test_the_producer_and_the_router_use_the_same_queue_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqs_lambda import Producer

    monkeypatch.setenv(settings.STAGE, "dev")
    port = InMemoryQueue()
    assert Producer(queue_name="jobs", backend=port).queue_url == "memory://dev-jobs"
    assert Producer(queue_name="jobs", stage="", backend=port).queue_url == "memory://jobs"


def test_one_aws_configuration_keys_the_client_cache() -> None:
    pytest.importorskip("boto3")
    local = AwsConfig(endpoint_url="http://127.0.0.1:9", region="us-east-1", credentials=("k", "s"))
    try:
        assert local.client("sqs") is aws.client("sqs", config=dataclasses.replace(local))
        assert local.client("sqs") is not AwsConfig(endpoint_url="http://127.0.0.1:8", region="us-east-1").client("sqs")
        assert local.client("sqs", "eu-west-1").meta.region_name == "eu-west-1"
        # 0.2's spelling, the fields one by one, is the same configuration
        assert aws.client("sqs", endpoint_url="http://127.0.0.1:9", region="us-east-1", credentials=("k", "s")) is (
            local.client("sqs")
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            local.region = "eu-west-1"  # type: ignore[misc]  # frozen: that is the test
    finally:
        aws.reset()


def test_a_skewed_clock_runs_a_delayed_job_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SQS_LAMBDA_CLOCK_SKEW`` (what ``sqs-lambda local --chaos skew=...`` sets per function) moves the
    clock delays are measured with: an hour ahead, a job due in 30 minutes runs now instead of hopping."""
    import datetime as dt

    from sqs_lambda.wire import envelope as wire
    from sqs_lambda_testing import sqs_event

    router, port = Router(), InMemoryQueue()
    router.backend = port
    ran: list[int] = []
    router.job("later")(lambda: ran.append(1))
    due = wire.format_time(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30))
    body, _ = wire.encode("later", {}, not_before=due)
    monkeypatch.setenv(settings.CLOCK_SKEW, "3600")
    assert router.lambda_handler(sqs_event(body), None) == {"batchItemFailures": []}
    assert ran == [1] and port.sends == []
    monkeypatch.setenv(settings.CLOCK_SKEW, "0")
    assert router.lambda_handler(sqs_event(body), None) == {"batchItemFailures": []}
    assert ran == [1] and len(port.sends) == 1  # on time: it hops (1,800 s > SQS's 900 s)
