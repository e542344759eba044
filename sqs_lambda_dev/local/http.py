"""The template's ``HttpApi`` and ``Api`` events, served on 127.0.0.1 as API Gateway would call them.

Routes come from the SAM template (``Path``, ``Method``; ``ANY`` and ``{param}``/``{proxy+}`` paths
included). A request becomes the event of the payload format the template declares: HTTP API 2.0 by
default (``PayloadFormatVersion: "1.0"`` on an ``HttpApi`` event for the old one), REST API 1.0 for
``Api`` events. The function's answer is read as API Gateway reads it: ``{statusCode, headers, body,
isBase64Encoded}``; for HTTP API 2.0 any other JSON value is a 200 with that JSON. A failed invocation
is a 502, one that runs past the function's timeout a 504.
Authorizers are not emulated: every local route is open (say so where it matters).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sqs_lambda.wire import codec
from sqs_lambda_dev.local.invocation import Function

if TYPE_CHECKING:
    from sqs_lambda_dev.local.sources import SourceSetup

_FAILED = b'{"message":"Internal Server Error"}'
_TIMED_OUT = b'{"message":"Endpoint request timed out"}'


@dataclass
class Route:
    """One API event of a function: ``method`` (or ``ANY``) and ``path`` (``/files/{id}``)."""

    function: str
    method: str
    path: str
    payload_version: str  # "2.0" (HTTP API) or "1.0" (REST API, or an HTTP API that asks for it)
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, function: str, method: str, path: str, payload_version: str) -> Route:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))  # {proxy+}
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)  # {id}
        return cls(function, method.upper(), path, payload_version, re.compile(f"^{regex}$"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def routes_of(sam: Mapping[str, Any]) -> list[Route]:
    """The API routes a SAM template declares: its functions' ``HttpApi``/``Api`` events, and plain
    ``AWS::ApiGatewayV2::Route`` resources whose integration is a function of the template."""
    resources = sam.get("Resources") or {}
    routes = _plain_routes(resources)
    for logical, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            kind, properties = event.get("Type"), event.get("Properties") or {}
            if kind not in ("HttpApi", "Api") or not isinstance(properties.get("Path", "/"), str):
                continue
            version = str(properties.get("PayloadFormatVersion", "2.0")) if kind == "HttpApi" else "1.0"
            method = str(properties.get("Method", "ANY")).replace("x-amazon-apigateway-any-method", "ANY")
            routes.append(Route.of(logical, method, str(properties.get("Path", "/$default")), version))
    return routes


FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def _referenced(value: Any, resources: Mapping[str, Any], types: tuple[str, ...]) -> str | None:
    """The first resource of one of ``types`` that ``value`` (a Ref, GetAtt or Sub) names."""
    for name in re.findall(r"[A-Za-z0-9]+", codec.dumps(value)):
        if (resources.get(name) or {}).get("Type") in types:
            return name
    return None


def _plain_routes(resources: Mapping[str, Any]) -> list[Route]:
    routes = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        properties = resource.get("Properties") or {}
        key = properties.get("RouteKey")
        integration = _referenced(properties.get("Target"), resources, ("AWS::ApiGatewayV2::Integration",))
        if not isinstance(key, str) or integration is None:
            continue
        integration_properties = resources[integration].get("Properties") or {}
        function = _referenced(integration_properties.get("IntegrationUri"), resources, FUNCTION_TYPES)
        if function is None:
            continue
        method, _, path = key.partition(" ") if key != "$default" else ("ANY", "", "/{proxy+}")
        version = str(integration_properties.get("PayloadFormatVersion", "2.0"))
        routes.append(Route.of(function, method, path, version))
    return routes


class ApiServer:
    """Serves ``routes`` on 127.0.0.1 (a free port unless given), invoking ``functions[logical id]``."""

    def __init__(
        self,
        routes: list[Route],
        functions: Mapping[str, Function],
        *,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        port: int = 0,
    ) -> None:
        self.routes, self.functions = routes, functions
        self.on_event = on_event or (lambda kind, data: None)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _request_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.in_flight = 0  # requests being answered now
        self.requests = 0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="http-api")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """One request: (status, headers, body) as API Gateway would answer it."""
        parts = urlsplit(target)
        for route in self.routes:
            parameters = route.match(method, parts.path)
            if parameters is not None:
                break
        else:
            return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
        build = http_api_event if route.payload_version == "2.0" else rest_api_event
        event = build(route, Request(method, parts.path, parts.query, headers, body, parameters, self.url))
        started = time.perf_counter()
        with self._lock:
            self.in_flight += 1
            self.requests += 1
        try:
            outcome = self.functions[route.function].invoke(event)
        finally:
            with self._lock:
                self.in_flight -= 1
        if outcome.timed_out:  # API Gateway's own answer when the integration runs out of time
            status, answer_headers, answer = 504, {"content-type": "application/json"}, _TIMED_OUT
        elif outcome.error:  # the function failed: API Gateway answers 502
            self.on_event("error", {"function": route.function, "error": outcome.error})
            status, answer_headers, answer = 502, {"content-type": "application/json"}, _FAILED
        else:
            status, answer_headers, answer = read_answer(outcome.response, route.payload_version)
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        self.on_event(
            "http",
            {"function": route.function, "route": f"{method} {parts.path}", "status": status, "duration_ms": elapsed},
        )
        return status, answer_headers, answer


class HttpApiSource:
    """The template's HttpApi/Api events of local functions, served on 127.0.0.1 at a free port from the
    runtime's start (callers reach it before anything polls)."""

    serves_at_start = True

    def __init__(self, server: ApiServer, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.server, self.on_event = server, on_event
        self.stopped = False

    @classmethod
    def from_template(cls, setup: SourceSetup) -> HttpApiSource | None:
        routes = [route for route in routes_of(setup.template.sam) if route.function in setup.functions]
        if not routes:
            return None
        return cls(ApiServer(routes, setup.functions, on_event=setup.on_event), setup.on_event)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, stop: threading.Event) -> None:
        self.server.start()
        listed = ", ".join(f"{route.method} {route.path}" for route in self.server.routes)
        self.on_event("http-api", {"url": self.url, "routes": listed})

    def busy(self) -> bool:
        return self.server.in_flight > 0

    def stats(self) -> dict[str, Any]:
        return {"url": self.url, "requests": self.server.requests}

    def stop(self, timeout: float) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.stop()


def _request_handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer_headers, answer = server.respond(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in answer_headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:  # the runtime reports requests itself
            return

    return RequestHandler


def _body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode(), True


@dataclass
class Request:
    """One HTTP request to a route, as the server received it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    parameters: dict[str, str]  # the route's path parameters
    url: str  # the server's own URL


def http_api_event(route: Route, request: Request) -> dict[str, Any]:
    """The HTTP API payload format 2.0 event."""
    method, path, query, headers = request.method, request.path, request.query, request.headers
    body, parameters, url = request.body, request.parameters, request.url
    now = dt.datetime.now(dt.UTC)
    text, encoded = _body(body)
    route_key = f"{route.method} {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": dict(headers),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": url.split("//", 1)[-1],
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if "cookie" in headers:
        event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = {k: v for k, v in parse_qsl(query, keep_blank_values=True)}
    if parameters:
        event["pathParameters"] = parameters
    if text is not None:
        event["body"] = text
    return event


def rest_api_event(route: Route, request: Request) -> dict[str, Any]:
    """The REST API (payload format 1.0) event."""
    method, path, query, headers = request.method, request.path, request.query, request.headers
    body, parameters = request.body, request.parameters
    text, encoded = _body(body)
    pairs = parse_qsl(query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "httpMethod": method,
            "path": f"/Prod{path}",
            "resourcePath": route.path,
            "stage": "Prod",
            "requestId": uuid.uuid4().hex,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def read_answer(result: Any, payload_version: str) -> tuple[int, dict[str, str], bytes]:
    """A function's answer as API Gateway reads it (see the module docstring)."""
    if isinstance(result, dict) and "statusCode" in result:
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return 502, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return status, headers, data
    if payload_version == "2.0" and result is not None:  # any other JSON value: a 200 with it
        return 200, {"content-type": "application/json"}, codec.dumps(result).encode()
    return 502, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
