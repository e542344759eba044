"""The dashboard's routes: HTML pages that refresh in place (htmx), and the JSON API under ``/api/`` they
use. An action is a POST under ``/api/``: it answers JSON, or the page's fragment to htmx. Everything
shown is escaped by the templates (Jinja2's autoescape): a body holding markup is displayed, never run.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from sqs_lambda.errors import JobArgumentError
from sqs_lambda.producing.queues import name_of_url
from sqs_lambda_dev.dashboard.actions import ActionFailed
from sqs_lambda_dev.dashboard.board import QueueRow
from sqs_lambda_dev.dashboard.charts import bars
from sqs_lambda_dev.dashboard.forms import FormErrors, fields_of, kwargs_from_form, kwargs_from_json
from sqs_lambda_dev.dashboard.inspector import Inspector
from sqs_lambda_dev.dashboard.security import Guard

HERE = Path(__file__).parent


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def field_error_id(job: str, field: str) -> str:
    """The element id of a send form field's error (ids allow only some characters, job names more)."""
    return "error-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{job}-{field}")


def _timestamp(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def create_app(
    inspector: Inspector,
    *,
    read_only: bool = False,
    token: str | None = None,
    host: str = "127.0.0.1",
    refresh_seconds: float = 2.0,
    csrf: str | None = None,
) -> Guard:
    """The ASGI app, behind its guard (see :mod:`.security`)."""
    csrf = csrf or secrets.token_urlsafe(24)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=environment)  # autoescape everywhere: message text is never markup
    templates.env.filters["age"] = _age
    templates.env.filters["timestamp"] = _timestamp
    templates.env.globals["field_error_id"] = field_error_id
    templates.env.globals.update(
        csrf=csrf, read_only=read_only, refresh=refresh_seconds, where=inspector.where, local=inspector.local
    )

    async def off_loop(function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(function, *args)  # boto3 blocks: keep the event loop free

    def queue_or_404(name: str) -> QueueRow:
        row = inspector.board.row(name)
        if row is None:
            raise _NotFound(f"no queue named {name} here")
        return row

    def wants_html(request: Request) -> bool:
        return request.headers.get("hx-request") == "true"

    def page(request: Request, name: str, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, context)

    # -- pages ------------------------------------------------------------------------------------

    async def overview(request: Request) -> Response:
        return page(request, "overview.html", **await off_loop(overview_context))

    def overview_context() -> dict[str, Any]:
        rows = inspector.board.rows()
        series = inspector.history.series([row.name for row in rows])
        charts = {row.name: bars(series[row.name].done, series[row.name].failed) for row in rows}
        totals = {row.name: (sum(series[row.name].done), sum(series[row.name].failed)) for row in rows}
        return {"rows": rows, "charts": charts, "totals": totals, "error": inspector.board.error}

    async def overview_rows(request: Request) -> Response:
        return page(request, "_queues.html", **await off_loop(overview_context))

    async def queue_page(request: Request) -> Response:
        row = await off_loop(queue_or_404, request.path_params["name"])
        jobs = await off_loop(inspector.jobs)
        sendable = {name: fields_of(job) for name, (url, job) in jobs.items() if url == row.url}
        return page(request, "queue.html", row=row, sendable=sendable)

    async def job_page(request: Request) -> Response:
        envelope_id = request.path_params["envelope_id"]
        entries = await off_loop(inspector.timeline, envelope_id)
        return page(request, "job.html", envelope_id=envelope_id, entries=entries)

    async def functions_page(request: Request) -> Response:
        return page(request, "functions.html", functions=await off_loop(inspector.functions))

    # -- the API (GET: reads) ---------------------------------------------------------------------

    async def api_queues(request: Request) -> Response:
        context = await off_loop(overview_context)
        if context["error"]:
            return JSONResponse({"error": context["error"]}, status_code=502)
        series = await off_loop(inspector.history.series, [row.name for row in context["rows"]])
        return JSONResponse([{**row.as_json(), "last_hour": series[row.name].as_json()} for row in context["rows"]])

    async def api_job(request: Request) -> Response:
        entries = await off_loop(inspector.timeline, request.path_params["envelope_id"])
        return JSONResponse(
            {"envelope_id": request.path_params["envelope_id"], "events": [entry.as_json() for entry in entries]}
        )

    async def api_jobs(request: Request) -> Response:
        jobs = await off_loop(inspector.jobs)
        return JSONResponse(
            {
                name: {"queue": name_of_url(url), "fields": [vars(field) for field in fields_of(job)]}
                for name, (url, job) in sorted(jobs.items())
            }
        )

    async def api_functions(request: Request) -> Response:
        return JSONResponse(await off_loop(inspector.functions))

    # -- the API (POST) ---------------------------------------------------------------------------

    async def api_peek(request: Request) -> Response:
        row = await off_loop(queue_or_404, request.path_params["name"])
        count = min(int(request.query_params.get("count", "10")), 100)
        messages = await off_loop(inspector.peek, row.url, count)
        if wants_html(request):
            return page(
                request,
                "_messages.html",
                row=row,
                messages=messages,
                destination=await off_loop(_destination, row),
                now=time.time(),
            )
        return JSONResponse(messages)

    async def act(request: Request, action: Callable[[QueueRow, dict[str, Any]], str]) -> Response:
        row = await off_loop(queue_or_404, request.path_params["name"])
        errors: dict[str, str] = {}
        form: dict[str, Any] = {}
        try:
            form = await _payload(request)
            message = await off_loop(action, row, form)
            ok, status = True, 200
        except FormErrors as refused:
            errors, message, ok, status = refused.errors, "not sent: check the fields", False, 422
        except ActionFailed as error:
            message, ok, status = str(error), False, 409
        except Exception as error:  # SQS refused or failed: said in one line, nothing moved
            message, ok, status = f"{type(error).__name__}: {error}", False, 502
        inspector.board.expire()
        if not wants_html(request):
            return JSONResponse(
                {"ok": ok, "message": message, **({"errors": errors} if errors else {})}, status_code=status
            )
        # The job's fields, each error next to its field (htmx swaps them in by id); empty ones clear.
        job = str(form.get("job", ""))
        known = inspector.jobs().get(job) if request.url.path.endswith("/send") else None
        fields = [
            (field_error_id(job, field.name), errors.pop(field.name, ""))
            for field in (fields_of(known[1]) if known else [])
        ]
        response = page(request, "_result.html", ok=ok, message=message, errors=errors, fields=fields)
        if ok:
            response.headers["HX-Trigger"] = "refresh-messages"  # the message list shows the change
        return response

    def redrive_all(row: QueueRow, form: dict[str, Any]) -> str:
        return inspector.actions.redrive_all(row.url, _need_destination(row))

    def redrive_one(row: QueueRow, form: dict[str, Any]) -> str:
        return inspector.actions.redrive_one(row.url, str(form["message_id"]), _need_destination(row))

    def delete_one(row: QueueRow, form: dict[str, Any]) -> str:
        return inspector.actions.delete_one(row.url, str(form["message_id"]))

    def purge(row: QueueRow, form: dict[str, Any]) -> str:
        return inspector.actions.purge(row.url)

    def send(row: QueueRow, form: dict[str, Any]) -> str:
        name = str(form.get("job", ""))
        known = inspector.jobs().get(name)
        if known is None or known[0] != row.url:
            raise FormErrors({"job": f"no job named {name!r} is consumed from {row.name}"})
        url, job = known
        if isinstance(form.get("kwargs"), dict):  # the JSON API
            kwargs = kwargs_from_json(job, _json_text(form["kwargs"]))
        else:
            kwargs = kwargs_from_form(job, {k: str(v) for k, v in form.items()})
        group = str(form.get("group_id") or "") or ("dashboard" if row.fifo else None)
        return inspector.actions.send(url, _router_of(url), name, kwargs, group)

    def resend(row: QueueRow, form: dict[str, Any]) -> str:
        destination = _destination(row) or row
        text = form["kwargs"] if isinstance(form.get("kwargs"), str) else _json_text(form.get("kwargs", {}))
        kwargs = kwargs_from_json(None, text)  # checked against the message's own job when it is built
        try:
            return inspector.actions.resend(
                row.url, str(form["message_id"]), destination.url, _router_of(destination.url), kwargs
            )
        except JobArgumentError as error:
            raise FormErrors({"kwargs": str(error)}) from None

    def _router_of(url: str) -> Any:
        return inspector.routers().get(url)

    def _destination(row: QueueRow) -> QueueRow | None:
        if not row.sources:
            return None
        return inspector.board.row(row.sources[0])

    def _need_destination(row: QueueRow) -> str:
        destination = _destination(row)
        if destination is None:
            raise ActionFailed(f"{row.name} is no queue's DLQ here: nowhere to redrive to")
        return destination.url

    def route(action: Callable[[QueueRow, dict[str, Any]], str]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await act(request, action)

        return endpoint

    async def not_found(request: Request, error: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(error)}, status_code=404)
        return HTMLResponse(
            templates.env.get_template("404.html").render(message=str(error), csrf=csrf), status_code=404
        )

    routes = [
        Route("/", overview),
        Route("/fragments/queues", overview_rows),
        Route("/queues/{name}", queue_page),
        Route("/jobs/{envelope_id}", job_page),
        Route("/functions", functions_page),
        Route("/api/queues", api_queues),
        Route("/api/jobs", api_jobs),
        Route("/api/jobs/{envelope_id}", api_job),
        Route("/api/functions", api_functions),
        Route("/api/queues/{name}/peek", api_peek, methods=["POST"]),
        Route("/api/queues/{name}/redrive", route(redrive_all), methods=["POST"]),
        Route("/api/queues/{name}/purge", route(purge), methods=["POST"]),
        Route("/api/queues/{name}/send", route(send), methods=["POST"]),
        Route("/api/queues/{name}/messages/redrive", route(redrive_one), methods=["POST"]),
        Route("/api/queues/{name}/messages/delete", route(delete_one), methods=["POST"]),
        Route("/api/queues/{name}/messages/resend", route(resend), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={_NotFound: not_found})
    return Guard(app, token=token, read_only=read_only, host=host, csrf=csrf)


class _NotFound(Exception):
    pass


async def _payload(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise FormErrors({"": "the request body is not JSON"}) from None
        return body if isinstance(body, dict) else {}
    form = await request.form()
    return {key: value for key, value in form.items() if key != "csrf"}


def _json_text(value: Any) -> str:
    return json.dumps(value)
