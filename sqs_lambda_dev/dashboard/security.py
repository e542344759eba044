"""The dashboard's security model, as one ASGI middleware.

- Loopback by default; any other host needs a token (:func:`check_bind`). With a token, a request
  without it gets 401: the token comes as ``Authorization: Bearer``, or once as ``?token=`` (which sets an
  HttpOnly, SameSite=Strict cookie and redirects to the same page without it).
- Every POST carries the CSRF token (a form field ``csrf`` or the ``X-CSRF-Token`` header htmx sends);
  without it, 403. A GET changes nothing.
- ``read_only``: the actions answer 403 (the pages do not show them).
- The Host header must name the address served (a page elsewhere cannot reach a loopback dashboard
  through DNS rebinding), and every page carries a Content-Security-Policy with no inline script.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqs_lambda.aws.clients import is_loopback_host
from sqs_lambda.errors import ConfigurationError

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
COOKIE = "sqs_lambda_dashboard"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Only these POSTs are read-only: the rest of /api is actions.
READ_ONLY_POSTS = ("/peek",)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not is_loopback_host(host) and not token:
        raise ConfigurationError(
            f"the dashboard serves {host}, beyond this machine: give it a token "
            "(--token or SQS_LAMBDA_DASHBOARD_TOKEN), or serve 127.0.0.1"
        )


class Guard:
    def __init__(self, app: ASGIApp, *, token: str | None, read_only: bool, host: str, csrf: str | None = None) -> None:
        self.app, self.token, self.read_only, self.host = app, token, read_only, host
        self.csrf = csrf or secrets.token_urlsafe(24)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode().lower(): value.decode() for key, value in scope.get("headers", [])}
        if is_loopback_host(self.host) and not is_loopback_host(headers.get("host", "").rsplit(":", 1)[0].strip("[]")):
            await _plain(send, 421, "this dashboard answers to its loopback address only")
            return
        if self.token:
            query = dict(parse_qsl(scope.get("query_string", b"").decode()))
            if "token" in query and _same(query["token"], self.token):
                rest = urlencode({k: v for k, v in query.items() if k != "token"})
                location = scope["path"] + (f"?{rest}" if rest else "")
                await _redirect(send, location, f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/")
                return
            if not self._authorised(headers):
                await _plain(send, 401, "a token is needed: open the URL the dashboard printed")
                return
        if scope["method"] not in ("GET", "HEAD"):
            if not _same(headers.get("x-csrf-token", ""), self.csrf) and not await _form_has(scope, receive, self.csrf):
                await _plain(send, 403, "missing or wrong CSRF token: reload the page")
                return
            if self.read_only and not scope["path"].endswith(READ_ONLY_POSTS):
                await _plain(send, 403, "this dashboard is read-only")
                return

        async def send_with_policy(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
            await send(message)

        body = scope.get("sqs_lambda.body")
        await self.app(scope, _replay(body) if body is not None else receive, send_with_policy)

    def _authorised(self, headers: dict[str, str]) -> bool:
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and _same(bearer[7:], self.token or ""):
            return True
        cookie: SimpleCookie = SimpleCookie(headers.get("cookie", ""))
        return COOKIE in cookie and _same(cookie[COOKIE].value, self.token or "")


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def _form_has(scope: Scope, receive: Any, csrf: str) -> bool:
    """Read the body (kept for the app) and look for ``csrf=`` in a form."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    scope["sqs_lambda.body"] = body
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode()
    if "application/x-www-form-urlencoded" not in content_type:
        return False
    return any(key == "csrf" and _same(value, csrf) for key, value in parse_qsl(body.decode(errors="replace")))


def _replay(body: bytes) -> Callable[[], Awaitable[Any]]:
    """A receive channel that hands the app the body the guard already read."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        chunk, sent = (b"" if sent else body), True
        return {"type": "http.request", "body": chunk, "more_body": False}

    return receive


async def _plain(send: Any, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-security-policy", CSP.encode())],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


async def _redirect(send: Any, location: str, cookie: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode())],
        }
    )
    await send({"type": "http.response.body", "body": b""})
