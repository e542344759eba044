"""The API function: API Gateway's HTTP API events (payload 2.0) served by Django's WSGI handler.

A few lines of adapter for the example; a real project may use apig-wsgi or Mangum instead.
"""

from __future__ import annotations

import base64
import io
import os
import sys
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signups_site.settings")

_application: Any = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _application
    if _application is None:
        from django.core.wsgi import get_wsgi_application

        _application = get_wsgi_application()
    http = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    environ = {
        "REQUEST_METHOD": http.get("method", "GET"),
        "PATH_INFO": event.get("rawPath", "/"),
        "QUERY_STRING": event.get("rawQueryString", ""),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(data)),
        "SERVER_NAME": headers.get("host", "localhost").split(":")[0],
        "SERVER_PORT": "443",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "https",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["statusCode"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    chunks = _application(environ, start_response)
    answer["body"] = b"".join(chunks).decode()
    return answer
