"""Lambda's Runtime API for one execution environment, served on 127.0.0.1.

The environment's runtime interface client (``awslambdaric``) long-polls
``GET /2018-06-01/runtime/invocation/next``; :meth:`RuntimeApi.submit` hands it one event, and the
client answers with ``POST .../invocation/{id}/response`` or ``.../error``. ``POST /runtime/init/error``
reports a failed init. The headers are the ones the client reads: request id, deadline (the
remaining-time clock counts down from it), function ARN, trace id. One API per environment, as in
Lambda, so that an address identifies the environment.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


@dataclass
class Invocation:
    """One event handed to the environment, and what came back (``done`` is set on either)."""

    request_id: str
    event: bytes
    deadline_ms: int
    trace_id: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes | None = None
    error: dict[str, Any] | None = None

    def fail(self, error: dict[str, Any]) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


class RuntimeApi:
    """The Runtime API of one environment. ``polled`` is set once the client asked for its first event
    (its init is over); ``init_error`` holds what it reported if init failed."""

    def __init__(self, function_arn: str) -> None:
        self.function_arn = function_arn
        self.polled = threading.Event()
        self.changed = threading.Event()  # set on every state change the environment waits for
        self.init_error: dict[str, Any] | None = None
        self._next: queue.Queue[Invocation | None] = queue.Queue()
        self._open: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True

    @property
    def address(self) -> str:
        """What ``AWS_LAMBDA_RUNTIME_API`` holds: host:port."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True, name=f"runtime-api-{self.address}").start()

    def stop(self) -> None:
        """Close the API; an open invocation ends with ``Runtime.ExitError``."""
        self._next.put(None)  # releases a client blocked on /next
        self.abandon({"errorType": "Runtime.ExitError", "errorMessage": "the environment stopped"})
        self._server.shutdown()
        self._server.server_close()

    def submit(self, invocation: Invocation) -> None:
        with self._lock:
            self._open[invocation.request_id] = invocation
        self._next.put(invocation)

    def abandon(self, error: dict[str, Any]) -> None:
        """End every open invocation with ``error`` (the process died or was killed)."""
        with self._lock:
            open_invocations, self._open = list(self._open.values()), {}
        for invocation in open_invocations:
            invocation.fail(error)

    # -- what the client calls ----------------------------------------------------------------------

    def next_invocation(self) -> Invocation | None:
        self.polled.set()
        self.changed.set()
        return self._next.get()

    def finish(self, request_id: str, response: bytes | None, error: dict[str, Any] | None) -> bool:
        with self._lock:
            invocation = self._open.pop(request_id, None)
        if invocation is None:
            return False
        invocation.response, invocation.error = response, error
        invocation.done.set()
        return True

    def report_init_error(self, error: dict[str, Any]) -> None:
        self.init_error = error
        self.changed.set()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed environment drops its connection mid-request: that is how it ends, not an error."""


def _error_body(body: bytes, error_type: str | None) -> dict[str, Any]:
    try:
        error = json.loads(body or b"{}")
    except ValueError:
        error = {"errorMessage": body.decode("utf-8", "replace")}
    if not isinstance(error, dict):
        error = {"errorMessage": str(error)}
    error.setdefault("errorType", error_type or "Runtime.Unknown")
    return error


def _handler(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the client keeps its connection; every answer has a length
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall between them

        def log_message(self, format: str, *args: Any) -> None:  # the environment's own logs say enough
            pass

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._answer(404, b'{"errorType":"InvalidRequest"}')
                return
            invocation = api.next_invocation()
            if invocation is None:  # the environment is going away (its process is being killed)
                self.close_connection = True
                return
            self._answer(
                200,
                invocation.event,
                {
                    "Content-Type": "application/json",  # without it the client never answers
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": invocation.trace_id,
                },
            )

        def do_POST(self) -> None:
            body = self._body()
            path = self.path
            if path == f"{PREFIX}/init/error":
                api.report_init_error(_error_body(body, self.headers.get("Lambda-Runtime-Function-Error-Type")))
                self._answer(202, b'{"status":"OK"}')
                return
            head, _, request_id_and_kind = path.partition(f"{PREFIX}/invocation/")
            request_id, _, kind = request_id_and_kind.partition("/")
            if head or kind not in ("response", "error"):
                self._answer(404, b'{"errorType":"InvalidRequest"}')
                return
            if kind == "response":
                known = api.finish(request_id, body, None)
            else:
                error = _error_body(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
                known = api.finish(request_id, None, error)
            if known:
                self._answer(202, b'{"status":"OK"}')
            else:
                self._answer(400, b'{"errorType":"InvalidRequestID"}')

    return Handler
