"""The job inspector's JSON API and security model, served for real (uvicorn on 127.0.0.1) against the
embedded SQS endpoint: actions, what a failed action leaves, CSRF, read-only, tokens, the Host check."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import Reject, Router
from sqs_lambda.aws import LOCAL_KEY_PAIR, AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.consuming import failure
from sqs_lambda.wire import envelope, payloads
from sqs_lambda_dev.dashboard.app import create_app
from sqs_lambda_dev.dashboard.inspector import for_local
from sqs_lambda_dev.dashboard.server import DashboardServer
from sqs_lambda_dev.local.journal import journal_path, read_events
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

CSRF = "test-csrf-token"
router = Router()


@router.job()
def resize(width: int, height: int = 10) -> None:
    """A job the send form and the resend check know."""


class Served:
    def __init__(self, url: str, pair: QueuePair, sqs: LocalSqs, state: Path) -> None:
        self.url, self.pair, self.sqs, self.state = url, pair, sqs, state

    def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None, csrf: bool = True
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if csrf:
            request.add_header("X-CSRF-Token", CSRF)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            text, status = error.read().decode(), error.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def dead_letter(self, kwargs: dict[str, Any], reason: str = "no room") -> str:
        body, envelope_id = envelope.encode("resize", kwargs)
        why = failure.failure_reason(
            Reject(reason), attempts=1, source_queue=self.pair.name, job="resize", why="non-retryable"
        )
        attributes = failure.with_failure_attributes({}, why)
        self.sqs.client.send_message(QueueUrl=self.pair.dlq_url, MessageBody=body, MessageAttributes=attributes)
        return envelope_id


def serve(sqs: LocalSqs, pair: QueuePair, state: Path, **options: Any) -> Iterator[Served]:
    backend = AwsSqs(config=AwsConfig(endpoint_url=sqs.url, region="us-east-1", credentials=LOCAL_KEY_PAIR))
    inspector = for_local(backend, lambda: [pair.url, pair.dlq_url], state, lambda: {pair.url: router}, ttl=0)
    token = options.pop("token", None)
    server = DashboardServer(create_app(inspector, csrf=CSRF, token=token, **options), token=token)
    server.start()
    try:
        yield Served(server.url.rstrip("/"), pair, sqs, state)
    finally:
        server.stop()


@pytest.fixture
def served(sqs_local: LocalSqs, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    pair = sqs_local.create_queue_pair(f"inspect-{abs(hash(request.node.name)) % 10**8}")
    yield from serve(sqs_local, pair, tmp_path)


def test_the_overview_api_gives_each_queue_its_counts_and_dlq(served: Served) -> None:
    served.sqs.client.send_message(QueueUrl=served.pair.url, MessageBody="{}")
    served.dead_letter({"width": 1})
    status, rows = served.call("GET", "/api/queues")
    assert status == 200
    by_name = {row["name"]: row for row in rows}
    source, dlq = by_name[served.pair.name], by_name[served.pair.name + "-dlq"]
    assert (source["visible"], source["dlq"], source["dlq_depth"], source["max_receive_count"]) == (
        1,
        dlq["name"],
        1,
        5,
    )
    assert dlq["dlq_of"] == [served.pair.name] and dlq["oldest_age_seconds"] is not None
    assert source["last_hour"]["bucket_seconds"] == 300 and len(source["last_hour"]["done"]) == 12


def test_peek_gives_the_reason_and_leaves_the_message_visible(served: Served) -> None:
    envelope_id = served.dead_letter({"width": 3}, reason="too wide")
    status, messages = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")
    assert status == 200 and len(messages) == 1
    assert messages[0]["envelope_id"] == envelope_id and messages[0]["kwargs"] == {"width": 3}
    assert messages[0]["failure"]["error_message"] == "too wide"
    assert served.sqs.counts(served.pair.dlq_url)["visible"] == 1  # given back at once


def test_redrive_one_moves_it_and_journals_it(served: Served) -> None:
    envelope_id = served.dead_letter({"width": 4})
    message_id = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")[1][0]["message_id"]
    status, answer = served.call(
        "POST", f"/api/queues/{served.pair.name}-dlq/messages/redrive", {"message_id": message_id}
    )
    assert (status, answer["message"]) == (200, f"1 message moved to {served.pair.name}")
    assert served.sqs.total(served.pair.dlq_url) == 0 and served.sqs.counts(served.pair.url)["visible"] == 1
    moved = served.sqs.client.receive_message(QueueUrl=served.pair.url, MessageAttributeNames=["All"])["Messages"][0]
    assert failure.read_failure(moved.get("MessageAttributes") or {}) == {}  # the reason stays behind
    events = [e for e in read_events(journal_path(served.state)) if e.get("envelope_id") == envelope_id]
    assert [e["event"] for e in events] == ["redriven"]
    status, timeline = served.call("GET", f"/api/jobs/{envelope_id}")
    assert [event["kind"] for event in timeline["events"]] == ["redriven"]


def test_a_redrive_that_fails_half_way_loses_nothing_and_says_so(served: Served) -> None:
    served.dead_letter({"width": 5, "note": "x" * 2000})
    message_id = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")[1][0]["message_id"]
    # the destination now refuses it: its messages may be 1 KiB at most
    served.sqs.client.set_queue_attributes(QueueUrl=served.pair.url, Attributes={"MaximumMessageSize": "1024"})
    status, answer = served.call(
        "POST", f"/api/queues/{served.pair.name}-dlq/messages/redrive", {"message_id": message_id}
    )
    assert status == 409 and answer["ok"] is False
    assert answer["message"].endswith(f"the message is still in {served.pair.name}-dlq")
    assert served.sqs.counts(served.pair.dlq_url)["visible"] == 1  # still there, visible at once
    assert served.sqs.total(served.pair.url) == 0


def test_redrive_all_delete_purge_say_what_they_did(served: Served) -> None:
    for width in (1, 2, 3):
        served.dead_letter({"width": width})
    assert served.call("POST", f"/api/queues/{served.pair.name}-dlq/redrive")[1]["message"] == (
        f"3 message(s) moved to {served.pair.name}"
    )
    served.dead_letter({"width": 9})
    message_id = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")[1][0]["message_id"]
    answer = served.call("POST", f"/api/queues/{served.pair.name}-dlq/messages/delete", {"message_id": message_id})
    assert answer[1]["message"] == f"1 message deleted from {served.pair.name}-dlq"
    assert served.call("POST", f"/api/queues/{served.pair.name}/purge")[1]["message"] == (
        f"{served.pair.name} purged: 3 message(s) deleted"
    )


def test_edit_and_resend_checks_the_kwargs_against_the_job_first(served: Served) -> None:
    old = served.dead_letter({"width": "wide"})
    message_id = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")[1][0]["message_id"]
    path = f"/api/queues/{served.pair.name}-dlq/messages/resend"
    status, refused = served.call("POST", path, {"message_id": message_id, "job": "resize", "kwargs": {"width": "x"}})
    assert status == 422 and "Expected `int`" in refused["errors"]["kwargs"]
    assert served.sqs.total(served.pair.dlq_url) == 1 and served.sqs.total(served.pair.url) == 0
    status, done = served.call("POST", path, {"message_id": message_id, "job": "resize", "kwargs": {"width": 7}})
    assert status == 200 and done["message"].startswith(f"resize resent to {served.pair.name}")
    body = served.sqs.client.receive_message(QueueUrl=served.pair.url)["Messages"][0]["Body"]
    assert json.loads(body)["kwargs"] == {"width": 7} and served.sqs.total(served.pair.dlq_url) == 0
    kinds = [event["kind"] for event in served.call("GET", f"/api/jobs/{old}")[1]["events"]]
    assert kinds == ["resent"]


def test_send_validates_against_the_router_and_names_the_field(served: Served) -> None:
    path = f"/api/queues/{served.pair.name}/send"
    status, refused = served.call("POST", path, {"job": "resize", "kwargs": {"width": "big"}})
    assert status == 422 and "width" in refused["errors"]["kwargs"]
    status, refused = served.call("POST", path, {"job": "crop", "kwargs": {}})
    assert status == 422 and "crop" in refused["errors"]["job"]
    assert served.sqs.total(served.pair.url) == 0
    status, sent = served.call("POST", path, {"job": "resize", "kwargs": {"width": 3}})
    assert status == 200 and served.sqs.total(served.pair.url) == 1
    envelope_id = sent["message"].rsplit("envelope ", 1)[1].rstrip(")")
    assert [e["kind"] for e in served.call("GET", f"/api/jobs/{envelope_id}")[1]["events"]] == ["sent"]
    jobs = served.call("GET", "/api/jobs")[1]
    assert jobs["resize"]["fields"][0] == {
        "name": "width",
        "kind": "int",
        "required": True,
        "default": "",
        "type_name": "int",
    }


def test_a_post_without_the_csrf_token_is_refused_and_a_get_changes_nothing(served: Served) -> None:
    served.dead_letter({"width": 1})
    status, text = served.call("POST", f"/api/queues/{served.pair.name}-dlq/purge", csrf=False)
    assert status == 403 and "CSRF" in text
    assert served.call("GET", f"/api/queues/{served.pair.name}-dlq/purge")[0] == 405
    assert served.sqs.total(served.pair.dlq_url) == 1


def test_read_only_refuses_every_action_with_403(sqs_local: LocalSqs, tmp_path: Path) -> None:
    pair = sqs_local.create_queue_pair("inspect-read-only")
    for served in serve(sqs_local, pair, tmp_path, read_only=True):
        served.dead_letter({"width": 1})
        for action, body in [
            ("redrive", None),
            ("purge", None),
            ("send", {"job": "resize", "kwargs": {"width": 1}}),
            ("messages/delete", {"message_id": "x"}),
        ]:
            status, text = served.call("POST", f"/api/queues/{pair.name}-dlq/{action}", body)
            assert (status, text) == (403, "this dashboard is read-only"), action
        assert served.call("POST", f"/api/queues/{pair.name}-dlq/peek")[0] == 200  # looking is allowed
        assert sqs_local.total(pair.dlq_url) == 1


def test_with_a_token_every_request_needs_it(sqs_local: LocalSqs, tmp_path: Path) -> None:
    pair = sqs_local.create_queue_pair("inspect-token")
    for served in serve(sqs_local, pair, tmp_path, token="s3cret"):
        assert served.call("GET", "/api/queues")[0] == 401
        assert served.call("GET", "/")[0] == 401
        assert served.call("GET", "/api/queues", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert served.call("GET", "/api/queues", headers={"Authorization": "Bearer s3cret"})[0] == 200
        request = urllib.request.Request(served.url + "/?token=s3cret")
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(request, timeout=10)
        assert redirect.value.code == 303 and redirect.value.headers["Location"] == "/"
        cookie = redirect.value.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert served.call("GET", "/", headers={"Cookie": cookie.split(";")[0]})[0] == 200


def test_a_request_for_another_host_name_is_refused(served: Served) -> None:
    assert served.call("GET", "/api/queues", headers={"Host": "attacker.example"})[0] == 421


def test_pages_escape_and_forbid_inline_script(served: Served) -> None:
    with urllib.request.urlopen(served.url + "/", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_beyond_loopback_without_a_token_it_refuses_to_start(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sqs_lambda_dev.cli",
            "dashboard",
            "--host",
            "0.0.0.0",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--queue-prefix",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={k: v for k, v in __import__("os").environ.items() if k != "SQS_LAMBDA_DASHBOARD_TOKEN"},
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("error: the dashboard serves 0.0.0.0, beyond this machine: give it a token")
    assert "Traceback" not in run.stderr


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_an_s3_pointer_message_shows_its_pointer_and_payload_size(served: Served) -> None:
    s3 = boto3_client("s3", served.sqs.url)
    s3.create_bucket(Bucket="inspector-payloads")
    body, _ = envelope.encode("resize", {"width": 8, "blob": "y" * 5000})
    s3.put_object(Bucket="inspector-payloads", Key="big-1", Body=body.encode())
    pointer = payloads.Pointer("inspector-payloads", "big-1")
    served.sqs.client.send_message(QueueUrl=served.pair.dlq_url, MessageBody=pointer.body())
    (message,) = served.call("POST", f"/api/queues/{served.pair.name}-dlq/peek")[1]
    assert message["payload"]["location"] == "s3://inspector-payloads/big-1"
    assert message["payload"]["size"] == len(body.encode()) and message["job"] == "resize"


def test_an_aws_timeline_is_found_in_cloudwatch_logs(sqs_local: LocalSqs, tmp_path: Path) -> None:
    from sqs_lambda_dev.dashboard.timeline import logs_timeline

    logs = boto3_client("logs", sqs_local.url)
    group = "/aws/lambda/dev-files-worker"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    now = int(time.time() * 1000)
    lines = [
        {
            "message": "retry requested",
            "envelope_id": "abc123",
            "fate": "retry",
            "retry_in_seconds": 8,
            "error_type": "Retry",
            "error_message": "busy",
        },
        {"message": "record sent to the dead-letter queue", "envelope_id": "other", "fate": "dead_letter"},
        {
            "message": "record sent to the dead-letter queue",
            "envelope_id": "abc123",
            "fate": "dead_letter",
            "error_type": "Reject",
            "error_message": "no",
        },
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s1",
        logEvents=[{"timestamp": now + n, "message": json.dumps(line)} for n, line in enumerate(lines)],
    )
    entries = logs_timeline(logs, [group, "/aws/lambda/never-ran"], "abc123")
    assert [(entry.kind, entry.function) for entry in entries] == [
        ("retry", "dev-files-worker"),
        ("dead-lettered", "dev-files-worker"),
    ]


def boto3_client(service: str, endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_aws_inspector_reads_cloudwatch_for_history_and_logs_for_timelines(
    sqs_local: LocalSqs, tmp_path: Path
) -> None:
    """``for_aws`` wired to the engine's CloudWatch and CloudWatch Logs (moto serves both): the overview
    and a timeline answer, with no datapoints and no log group yet."""
    from sqs_lambda_dev.dashboard.inspector import for_aws

    pair = sqs_local.create_queue_pair("inspect-aws")
    backend = AwsSqs(config=AwsConfig(endpoint_url=sqs_local.url, region="us-east-1", credentials=LOCAL_KEY_PAIR))
    inspector = for_aws(backend, lambda: [pair.url, pair.dlq_url], tmp_path, dict, ["/aws/lambda/none"], "AWS test")
    server = DashboardServer(create_app(inspector, csrf=CSRF))
    server.start()
    try:
        served = Served(server.url.rstrip("/"), pair, sqs_local, tmp_path)
        status, rows = served.call("GET", "/api/queues")
        assert status == 200 and {row["name"] for row in rows} == {pair.name, f"{pair.name}-dlq"}
        assert all(row["last_hour"]["done"] == [0] * 12 for row in rows)
        assert served.call("GET", "/api/jobs/nothing-yet") == (200, {"envelope_id": "nothing-yet", "events": []})
        assert served.call("GET", "/api/functions") == (200, [])
    finally:
        server.stop()
