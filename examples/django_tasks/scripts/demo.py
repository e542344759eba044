"""`sqs-lambda local --demo` for the signups example: two people sign up through the HTTP API (one with
an address that fails), and the outcome reads each task's result back through the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

SIGNUPS = [{"email": "ada@example.com", "name": "Ada"}, {"email": "not-an-address", "name": "Typo"}]
_sent: list[str] = []


def call(runtime: Any, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    if runtime.api_url is None:
        raise RuntimeError("the demo needs the template's HTTP API (the ApiFunction's events)")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{runtime.api_url}{path}",
        data=data,
        method="POST" if body is not None else "GET",
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read()))


def enqueue(runtime: Any) -> dict[str, Any]:
    for signup in SIGNUPS:
        _sent.append(call(runtime, "/signups", signup)["result_id"])
    return {"message": "demo: 2 signups through POST /signups (the second address fails: FAILED, in the DLQ)"}


def outcome(runtime: Any) -> dict[str, Any]:
    return {"results": {result_id: call(runtime, f"/signups/{result_id}") for result_id in _sent}}
