"""Worker mode: the router as a long-running SQS poller, for containers and jobs past Lambda's 15 minutes.

Each poller thread long-polls the queue and delivers what it receives through :mod:`sqs_lambda.consuming.delivery`
(Lambda's records, one invocation of the router, the response judged by Lambda's rules, the successes
deleted): the code Lambda runs, so the failure policy (backoff through
visibility, max retries, DLQ copies with reasons), FIFO rules, delay hops, peers' formats, signing,
S3 payloads and idempotency are the same. The response is applied as Lambda's trigger applies it:
every record not in ``batchItemFailures`` is deleted.

Contract:
- **Heartbeat**: while a batch runs, its messages' visibility is extended before it runs out, so a long
  job is never redelivered while it runs; the heartbeat stops when the batch ends.
- **Graceful stop** (SIGTERM, SIGINT, or a shutdown policy): no more receives; records already started
  finish within ``grace`` seconds; records received but not started are released at once (visibility
  0), for another worker to take. The worker then exits 0 (a job still running after the grace is
  abandoned with the process: its message returns after its visibility timeout). A long poll under way
  is not waited for, so an idle worker stops at once.
- **Shutdown policies** (:mod:`sqs_lambda.worker.shutdown`): ``never``, ``idle(SECONDS)`` (no message for that
  long), ``after(N)`` (N messages handled), composed with ``|`` (``idle:30|after:1000`` on the CLI).
- **Concurrency**: ``concurrency`` poller threads, each with its own batches; ``async def`` jobs of a
  batch share one event loop (the router's); :func:`serve_processes` runs whole workers in processes.
- **Health**: with ``health_port``, ``GET /`` answers 200 while every poller loop is alive, else 503.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .. import observe, settings
from ..aws.sqs import SqsBackend, default_backend
from ..consuming import delivery
from ..errors import ConfigurationError
from .heartbeat import HeartbeatAwareBackend, Heartbeats
from .shutdown import Shutdown

if TYPE_CHECKING:
    from ..aws import AwsConfig

RUNNING_DEADLINE_MS = 15 * 60 * 1000  # what a running worker reports as remaining time (no cut-off)


class WorkerContext:
    """The context ``lambda_handler`` gets: no deadline while the worker runs; none left once it stops,
    so that a batch's records not yet started are released (see the consumer's time cut-off)."""

    function_name = "sqs-lambda-worker"
    function_version = "$LATEST"
    memory_limit_in_mb = 0
    invoked_function_arn = ""
    log_group_name = ""
    log_stream_name = ""

    def __init__(self, stopping: threading.Event, worker_id: str = "") -> None:
        self._stopping = stopping
        self.aws_request_id = str(uuid.uuid4())
        self.worker_id = worker_id  # the worker's own id, the same for every batch it handles

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def get_remaining_time_in_millis(self) -> int:
        return 0 if self._stopping.is_set() else RUNNING_DEADLINE_MS


class Worker:
    """Polls ``queue_url`` and runs what arrives through ``router`` (see the module docstring)."""

    def __init__(
        self,
        router: Any,
        queue_url: str,
        *,
        backend: SqsBackend | None = None,
        concurrency: int = 1,
        batch_size: int = 10,
        wait: int = 20,
        shutdown: Shutdown | None = None,
        grace: float = 30.0,
        health_port: int | None = None,
        health_host: str = "0.0.0.0",  # a container's probe comes from outside it
    ) -> None:
        if concurrency < 1 or not 1 <= batch_size <= 10_000 or not 0 <= wait <= 20:
            raise ConfigurationError("concurrency >= 1, batch size 1-10000 and wait 0-20 seconds, please")
        self.router, self.queue_url = router, queue_url
        self.backend = backend or default_backend()
        self._heartbeats = Heartbeats(self.backend, queue_url)
        # The router's port in this worker, passed in with each batch: backoff, DLQ copies and hops go to
        # the same endpoint, and a backoff takes its record off the heartbeat first.
        self.port: SqsBackend = HeartbeatAwareBackend(self.backend, self._heartbeats)
        self.concurrency, self.batch_size, self.wait = concurrency, batch_size, wait
        self.shutdown, self.grace = shutdown or Shutdown(), grace
        self.health_port, self.health_host = health_port, health_host
        self.stopping = threading.Event()  # no more receives
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.releasing = threading.Event()  # and a batch's unstarted records go back (a signal)
        self.handled = self.succeeded = self.failed = 0  # handled: received and handed to the router
        self._claimed = 0
        self._busy = 0  # pollers handling a batch now
        self._lock = threading.Lock()
        self._last_message = time.monotonic()
        self._pollers: list[threading.Thread] = []
        self._health: ThreadingHTTPServer | None = None

    # -- running ------------------------------------------------------------------------------------

    def run(self) -> int:
        """Poll until stopped (a signal or the shutdown policy); returns the exit code (0)."""
        info = self.backend.queue_info(url=self.queue_url)
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for stop_signal in (signal.SIGTERM, signal.SIGINT):
                previous[stop_signal] = signal.signal(stop_signal, lambda *_: self.stop("signal", release=True))
        try:
            return self._run(info.arn, info.visibility_timeout)
        finally:
            for stop_signal, handler in previous.items():
                signal.signal(stop_signal, handler)

    def _run(self, arn: str, visibility: int) -> int:
        self._heartbeats.start(visibility)
        pollers = self._pollers = [
            threading.Thread(target=self._poll, args=(arn,), name=f"poller-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for poller in pollers:
            poller.start()
        self._serve_health()
        while not self.stopping.wait(0.2):
            with self._lock:
                idle = time.monotonic() - self._last_message
                if self.shutdown.reached(self.handled, idle):
                    self.stop(f"shutdown policy {self.shutdown}")
        # Wait for the pollers running a batch, not for those in a long poll (up to 20 s of nothing):
        # an idle worker stops at once. A receive still under way is abandoned with the process; what it
        # would have returned comes back after its visibility timeout.
        # ``after:N`` counts the messages its receives under way have claimed: those are waited for.
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline and (self._busy or (self._claimed and self._awaits_claims())):
            time.sleep(0.02)
        if self._health is not None:
            self._health.shutdown()
        self._heartbeats.stop()
        observe.log_info("worker stopped", handled=self.handled, succeeded=self.succeeded, failed=self.failed)
        return 0

    def stop(self, why: str = "asked", *, release: bool = False) -> None:
        """Stop receiving; with ``release`` (SIGTERM/SIGINT), running batches also give back the records
        they have not started. A shutdown policy lets running batches finish."""
        if release:
            self.releasing.set()
        if not self.stopping.is_set():
            observe.log_info("worker stopping", reason=why)
            self.stopping.set()

    def _poll(self, arn: str) -> None:
        while not self.stopping.is_set():
            wanted = self._claim()
            if wanted == 0:  # after:N reached (counting what other pollers hold)
                self.stop(f"shutdown policy {self.shutdown}")
                break
            try:
                messages = self._receive(wanted)
            except Exception as error:  # the endpoint is away: wait, then poll again
                observe.log_loudly("receive failed", error_message=str(error)[:300])
                messages = []
                self.stopping.wait(1.0)
            with self._lock:
                self._claimed -= wanted
                self.handled += len(messages)
                if messages:
                    self._last_message = time.monotonic()
                    self._busy += 1
            if messages:
                try:
                    self._handle(messages, arn)
                except Exception as error:  # e.g. the delete failed: the batch returns after its visibility
                    observe.log_loudly("a batch could not be finished", error_message=str(error)[:300])
                finally:
                    with self._lock:
                        self._busy -= 1

    def _awaits_claims(self) -> bool:
        return self.shutdown.limit() is not None and not self.releasing.is_set()

    def _claim(self) -> int:
        """How many messages this poller may receive now: the batch size, or what ``after:N`` leaves."""
        with self._lock:
            wanted = self.batch_size
            limit = self.shutdown.limit()
            if limit is not None:
                wanted = min(wanted, limit - self.handled - self._claimed)
            wanted = max(0, wanted)
            self._claimed += wanted
            return wanted

    def _receive(self, limit: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < limit and not self.stopping.is_set():
            wanted = min(10, limit - len(messages))
            got = self.backend.receive(self.queue_url, max_messages=wanted, wait_seconds=0 if messages else self.wait)
            messages += got
            if len(got) < wanted:
                break
        return messages

    def _handle(self, messages: list[dict[str, Any]], arn: str) -> None:
        receipts = [m["ReceiptHandle"] for m in messages]
        if self.releasing.is_set():  # received while stopping on a signal: give them back at once
            self.backend.change_visibility(self.queue_url, [(r, 0) for r in receipts])
            return
        token = self._heartbeats.track(receipts)
        try:
            judgement = delivery.deliver(
                delivery.records_of(messages, arn),
                queue_url=self.queue_url,
                port=self.port,
                invoke=lambda event: self.router.handle(
                    event, WorkerContext(self.releasing, self.worker_id), port=self.port
                ),
            )
        finally:
            self._heartbeats.untrack(token)
        if judgement.problem:
            observe.log_loudly(
                "the batch failed as a whole: it returns after its visibility timeout", reason=judgement.problem
            )
        for refused in judgement.delete_failures:
            observe.log_loudly("delete failed: the message will be delivered again", code=refused.get("Code"))
        with self._lock:
            self.succeeded += len(judgement.succeeded)
            self.failed += len(judgement.failed)

    # -- health -------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Every poller loop is alive (a long job keeps its poller busy, not dead)."""
        return not self.stopping.is_set() and bool(self._pollers) and all(p.is_alive() for p in self._pollers)

    def _serve_health(self) -> None:
        if self.health_port is None:
            return
        worker = self

        class Health(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                ok = worker.healthy()
                body = json.dumps({"status": "ok" if ok else "unavailable", "handled": worker.handled}).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._health = ThreadingHTTPServer((self.health_host, self.health_port), Health)
        self._health.daemon_threads = True
        threading.Thread(target=self._health.serve_forever, daemon=True, name="health").start()


def load_router(path: str) -> Any:
    """``package.module:attribute`` -> the router it names."""
    import importlib

    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{path!r}: give MODULE:ROUTER, e.g. myapp.jobs:router")
    router = getattr(importlib.import_module(module_name), attribute, None)
    if router is None or not hasattr(router, "lambda_handler"):
        raise ConfigurationError(f"{path!r} is not a router (no lambda_handler)")
    return router


def serve_processes(router_path: str, queue_url: str, processes: int, config: AwsConfig, **options: Any) -> int:
    """Run ``processes`` workers in processes of their own (CPU-bound jobs), each with an ``AwsSqs`` of
    ``config``; forwards SIGTERM/SIGINT to them and waits for each to stop. Returns 0."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_child, args=(router_path, queue_url, config, options), name=f"worker-{n}")
        for n in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: Any) -> None:
        for child in children:
            if child.is_alive() and child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return 0


def _child(router_path: str, queue_url: str, config: AwsConfig, options: dict[str, Any]) -> None:
    from ..aws.sqs import AwsSqs

    Worker(load_router(router_path), queue_url, backend=AwsSqs(config=config), **options).run()


def add_arguments(parser: Any) -> None:
    """The worker's options on an argparse parser (``python -m sqs_lambda.worker``, ``manage.py sqs_worker``)."""
    parser.add_argument("--concurrency", type=int, default=1, help="poller threads")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--wait", type=int, default=20, help="long-poll seconds (0-20)")
    parser.add_argument(
        "--shutdown",
        default="never",
        help="never, idle:SECONDS, after:N, or several joined by | (whichever comes first)",
    )
    parser.add_argument("--grace", type=float, default=30.0, help="seconds in-flight jobs get on SIGTERM")
    parser.add_argument("--health-port", type=int, default=None)


def options_from(parsed: dict[str, Any]) -> dict[str, Any]:
    """:class:`Worker` keyword arguments from what :func:`add_arguments` parsed."""
    return {
        "concurrency": parsed["concurrency"],
        "batch_size": parsed["batch_size"],
        "wait": parsed["wait"],
        "shutdown": Shutdown.parse(parsed["shutdown"]),
        "grace": parsed["grace"],
        "health_port": parsed["health_port"],
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m sqs_lambda.worker MODULE:router --queue URL_OR_NAME [...]``: worker mode without the
    CLI's dependencies (a container needs sqs-lambda and boto3 only). ``sqs-lambda worker`` is the same,
    with the CLI's target options."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m sqs_lambda.worker", description=main.__doc__)
    parser.add_argument("router", help="MODULE:ATTRIBUTE, e.g. myapp.jobs:router")
    parser.add_argument("--queue", required=True, help="queue URL, or name (prefixed with --stage)")
    parser.add_argument("--stage", default=settings.current().stage)
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--processes", type=int, default=1)
    add_arguments(parser)
    arguments = parser.parse_args(argv)
    from ..aws import AwsConfig
    from ..aws.sqs import AwsSqs
    from ..producing.queues import QueueRef

    sys.path.insert(0, os.getcwd())
    config = AwsConfig(endpoint_url=arguments.endpoint_url)
    backend = AwsSqs(config=config)
    queue = QueueRef.parse(arguments.queue, arguments.stage).resolve(backend)
    options = options_from(vars(arguments))
    if arguments.processes > 1:
        return serve_processes(arguments.router, queue, arguments.processes, config, **options)
    return Worker(load_router(arguments.router), queue, backend=backend, **options).run()
