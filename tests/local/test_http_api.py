"""The template's HttpApi (payload 2.0) and Api (REST, 1.0) events, served by the local runtime."""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
from sqs_lambda_testing.templates import sam_template

CODE = """
import json


def items(event, context):
    if event["pathParameters"]["id"] == "crash":
        raise RuntimeError("boom")
    if event["pathParameters"]["id"] == "plain":
        return {"plain": True}  # HTTP API 2.0: any JSON value is a 200 with it
    return {"statusCode": 200, "headers": {"x-seen": event["routeKey"]}, "body": json.dumps(event)}


def legacy(event, context):
    remaining = context.get_remaining_time_in_millis()
    return {"statusCode": 201, "body": json.dumps({"event": event, "remaining": remaining})}
"""


def api_function(handler: str, kind: str, path: str, method: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "src/",
            "Handler": f"app.{handler}",
            "Runtime": "python3.11",
            "Timeout": 5,
            "Events": {"E": {"Type": kind, "Properties": {"Path": path, "Method": method}}},
        },
    }


@pytest.fixture
def api(sqs_local: Any, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(CODE))
    resources = {
        "Items": api_function("items", "HttpApi", "/items/{id}", "get"),
        "Legacy": api_function("legacy", "Api", "/legacy", "post"),
    }
    template = sam_template(resources, stage=f"t{uuid.uuid4().hex[:8]}")
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    runtime = LocalRuntime(
        RuntimeOptions(template=tmp_path / "template.yaml", endpoint_url=sqs_local.url, state_dir=tmp_path / ".s")
    )
    runtime.start()
    try:
        assert runtime.api_url is not None and runtime.api_url.startswith("http://127.0.0.1:")
        yield runtime.api_url
    finally:
        runtime.stop()


def call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_http_api_events_are_payload_2_0(api: str) -> None:
    status, headers, body = call(f"{api}/items/42?color=red&size=m")
    event = json.loads(body)
    assert status == 200 and headers["x-seen"] == "GET /items/{id}"
    assert event["version"] == "2.0" and event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42" and event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"color": "red", "size": "m"}
    assert event["requestContext"]["http"]["method"] == "GET" and event["isBase64Encoded"] is False
    assert call(f"{api}/items/plain")[:1] == (200,) and json.loads(call(f"{api}/items/plain")[2]) == {"plain": True}


def test_rest_api_events_are_payload_1_0(api: str) -> None:
    status, _, body = call(f"{api}/legacy", "POST", b'{"file_id": "42"}')
    answer = json.loads(body)
    event = answer["event"]
    assert status == 201 and event["httpMethod"] == "POST" and event["resource"] == "/legacy"
    assert event["body"] == '{"file_id": "42"}' and event["requestContext"]["stage"] == "Prod"
    assert 0 < answer["remaining"] <= 5000  # the function's own Timeout


def test_errors_are_api_gateway_s(api: str) -> None:
    assert call(f"{api}/items/crash")[0] == 502
    assert call(f"{api}/nowhere")[0] == 404
    assert call(f"{api}/legacy", "GET")[0] == 404  # only POST is routed


def test_a_function_on_another_python_is_named_once(sqs_local: Any, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(CODE))
    function = api_function("items", "HttpApi", "/items/{id}", "get")
    function["Properties"]["Runtime"] = "python3.9"
    (tmp_path / "template.yaml").write_text(json.dumps(sam_template({"Old": function}, stage="tpy")))
    events: list[tuple[str, dict[str, Any]]] = []
    runtime = LocalRuntime(
        RuntimeOptions(template=tmp_path / "template.yaml", endpoint_url=sqs_local.url, state_dir=tmp_path / ".s"),
        on_event=lambda kind, data: events.append((kind, data)),
    )
    runtime.start()
    runtime.stop()
    warnings = [data["message"] for kind, data in events if kind == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("Old: the template says python3.9; running on python3.")
