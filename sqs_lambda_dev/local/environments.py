"""Execution environments: each function runs in processes of its own, as in Lambda.

An environment is one process running AWS's runtime interface client (``python -m awslambdaric
HANDLER``) against its own Runtime API (:mod:`.runtime_api`) on 127.0.0.1. It sees only its
function's environment variables and the ones Lambda reserves, with its code directory and its
layers first on the path, so same-named modules of two functions never meet. Event and context
handling, error shapes and the remaining-time clock are therefore the client's own, as in AWS.

A :class:`FunctionPool` is one function: it keeps environments warm, creates one (a cold start, its
init duration measured) when none is free, kills and replaces one whose invocation passes
``Timeout``, and writes Lambda's ``START``/``END``/``REPORT`` lines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqs_lambda_dev.events import ACCOUNT
from sqs_lambda_dev.local.functions import FunctionSpec
from sqs_lambda_dev.local.invocation import Outcome
from sqs_lambda_dev.local.runtime_api import Invocation, RuntimeApi

OnEvent = Callable[[str, dict[str, Any]], None]

DEAD_LETTER_MARK = '"fate":"dead_letter"'  # in sqs-lambda's JSON line for a record copied to its DLQ
INIT_LIMIT_SECONDS = 10.0  # Lambda's init phase; a slower init is retried within the invocation's timeout


class InitError(Exception):
    """The environment could not start: what the runtime client reported (or how the process ended)."""

    def __init__(self, error_type: str, message: str, init_ms: float) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message, self.init_ms = error_type, message, init_ms


def reserved_variables(spec: FunctionSpec, *, region: str, api_address: str) -> dict[str, str]:
    """The variables Lambda sets in every environment (a template cannot override them)."""
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    path = [str(spec.code_dir), *(str(p) for p in spec.layer_paths)]
    variables = {
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{python}",  # the Python that actually runs it here
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.dirname(os.path.abspath(sys.executable))),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(path),
        # A Lambda function has no ~/.aws: the developer's profiles must not reach a local one either.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if spec.log_format:
        variables["AWS_LAMBDA_LOG_FORMAT"] = spec.log_format
    if spec.log_level:
        variables["AWS_LAMBDA_LOG_LEVEL"] = spec.log_level
    return variables


def function_arn(spec: FunctionSpec, region: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{spec.name}"


class ExecutionEnvironment:
    """One process of one function, with its own Runtime API. ``start()`` runs its init."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], *, region: str, on_line: Callable[[str], None]):
        self.spec = spec
        self.api = RuntimeApi(function_arn(spec, region))
        self.environment = {**environment, **spec.environment}
        self.region = region
        self.on_line = on_line
        self.process: subprocess.Popen[str] | None = None
        self.exited = threading.Event()
        self.exit_reason = ""
        self.generation = 0  # its pool's code generation when it started
        self._killed = False

    @property
    def alive(self) -> bool:
        return self.process is not None and not self._killed and not self.exited.is_set()

    def start(self) -> float:
        """Start the process and wait for its init to end (its first poll for an event). Returns the init
        duration in ms; raises :class:`InitError` as Lambda would report it."""
        self.api.start()
        reserved = reserved_variables(self.spec, region=self.region, api_address=self.api.address)
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", self.spec.handler],
            cwd=self.spec.code_dir,
            env={**self.environment, **reserved},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # Ctrl-C reaches the runtime, which stops its environments itself
        )
        threading.Thread(target=self._read_output, daemon=True, name=f"env-{self.spec.logical_id}").start()
        limit = INIT_LIMIT_SECONDS + self.spec.timeout
        api = self.api
        while True:
            api.changed.clear()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if api.init_error is not None:
                self.kill()
                error = api.init_error
                raise InitError(str(error.get("errorType")), str(error.get("errorMessage", "")), elapsed_ms)
            if api.polled.is_set():
                return elapsed_ms
            if self.exited.is_set():
                raise InitError("Runtime.ExitError", self.exit_reason, elapsed_ms)
            if elapsed_ms >= limit * 1000:
                self.kill()
                raise InitError("Sandbox.Timedout", f"init did not finish in {limit:g} seconds", elapsed_ms)
            api.changed.wait(min(0.5, limit - elapsed_ms / 1000))

    def _read_output(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            self.on_line(line.rstrip("\n"))
        code = process.wait()
        self.exit_reason = (
            f"Runtime exited with error: signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
            if code < 0
            else f"Runtime exited with error: exit status {code}"
        )
        self.exited.set()
        self.api.abandon({"errorType": "Runtime.ExitError", "errorMessage": self.exit_reason})
        self.api.changed.set()

    def invoke(self, event: bytes, request_id: str, timeout: float) -> Invocation:
        """Hand the event over and wait up to ``timeout``; the invocation's ``done`` is unset if it ran
        over."""
        deadline_ms = int((time.time() + timeout) * 1000)
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
        invocation = Invocation(request_id, event, deadline_ms, trace)
        self.api.submit(invocation)
        if self.exited.is_set():  # died between invocations: nothing will answer
            invocation.fail({"errorType": "Runtime.ExitError", "errorMessage": self.exit_reason})
        invocation.done.wait(timeout)
        return invocation

    def max_memory_mb(self) -> int | None:
        """Peak resident memory of the process so far (Linux: VmHWM), as REPORT's Max Memory Used."""
        if self.process is None:
            return None
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return math.ceil(int(line.split()[1]) / 1024)
        except OSError:
            return None
        return None

    def kill(self) -> None:
        """Stop the process and everything it started (Lambda discards the whole sandbox)."""
        if self._killed:
            return
        self._killed = True
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.api.stop()


@dataclass
class PoolStats:
    cold_starts: int = 0
    init_errors: int = 0
    timeouts: int = 0
    crashes: int = 0
    live: int = 0
    peak: int = 0
    init_ms: float = 0.0  # the last cold start's
    invocations: int = 0  # by any event source (SQS, HTTP...)
    dead_lettered: int = 0  # records its router reported sent to the DLQ (read from its JSON outcome lines)


class FunctionPool:
    """One function's execution environments: warm reuse, creation on demand (at most ``limit`` at once
    when the function reserves concurrency), and Lambda's log lines. A :class:`~.invocation.Function`."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        environment: dict[str, str],
        region: str,
        on_event: OnEvent | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.timeout = spec.timeout
        self.environment = environment
        self.region = region
        self.on_event = on_event or (lambda kind, data: None)
        self.limit = spec.reserved_concurrency
        self.stats = PoolStats()
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._available = threading.Condition()
        self._closed = False
        self._generation = 0  # bumped by retire(): older environments are not reused

    def log(self, line: str) -> None:
        if DEAD_LETTER_MARK in line:  # the router's own outcome line: the record was deleted, but not "ok"
            self.stats.dead_lettered += 1
        self.on_event("log", {"function": self.name, "line": line})

    @property
    def busy(self) -> int:
        """Environments running an invocation (or starting for one) now."""
        with self._available:
            return self.stats.live - len(self._idle)

    # -- environments -------------------------------------------------------------------------------

    def _acquire(self) -> tuple[ExecutionEnvironment, float | None]:
        """A warm environment (init None), or a new one and its init duration."""
        with self._available:
            while True:
                if self._closed:
                    raise InitError("Runtime.Stopped", "the local runtime is stopping", 0.0)
                while self._idle:
                    warm = self._idle.pop()  # the most recently used, as Lambda tends to
                    if warm.alive:
                        return warm, None
                    self._forget(warm)  # died while idle: replaced, never handed a batch
                if self.limit is None or self.stats.live < self.limit:
                    self.stats.live += 1
                    self.stats.peak = max(self.stats.peak, self.stats.live)
                    break
                self._available.wait()
        environment = ExecutionEnvironment(self.spec, self.environment, region=self.region, on_line=self.log)
        environment.generation = self._generation
        with self._available:
            self._all.add(environment)
        try:
            init_ms = environment.start()
        except InitError:
            self._discard(environment)
            raise
        self.stats.cold_starts += 1
        self.stats.init_ms = init_ms
        self.on_event("cold-start", {"function": self.name, "init_ms": round(init_ms, 2), "live": self.stats.live})
        return environment, init_ms

    def retire(self) -> None:
        """New code: idle environments stop now, busy ones after their invocation; the next invocation
        starts a fresh one (a cold start), as after a deployment."""
        with self._available:
            self._generation += 1
            idle, self._idle = self._idle, []
        for environment in idle:
            self._discard(environment)

    def _forget(self, environment: ExecutionEnvironment) -> None:
        """Drop a dead environment from the books (the lock is held)."""
        environment.kill()
        if environment in self._all:
            self._all.discard(environment)
            self.stats.live -= 1

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._available:
            if environment.alive and not self._closed and environment.generation == self._generation:
                self._idle.append(environment)
                self._available.notify()
                return
        self._discard(environment)

    def _discard(self, environment: ExecutionEnvironment) -> None:
        environment.kill()  # outside the lock: a live process may take a moment to go
        with self._available:
            self._forget(environment)
            self._available.notify()

    def kill_busy(self) -> bool:
        """SIGKILL one environment running an invocation (chaos): the invocation ends as a crash."""
        with self._available:
            busy = [environment for environment in self._all if environment not in self._idle]
        if busy:
            busy[0].kill()
        return bool(busy)

    def close(self) -> None:
        """Stop every environment (those busy end as crashed invocations)."""
        with self._available:
            self._closed = True
            environments, self._idle = list(self._all), []
            self._available.notify_all()
        for environment in environments:
            self._discard(environment)

    # -- one invocation -----------------------------------------------------------------------------

    def invoke(self, event: dict[str, Any]) -> Outcome:
        request_id = str(uuid.uuid4())
        self.stats.invocations += 1
        try:
            environment, init_ms = self._acquire()
        except InitError as error:
            self.stats.init_errors += 1
            self.log(
                f"INIT_REPORT Init Duration: {error.init_ms:.2f} ms\tPhase: init\tStatus: error\t"
                f"Error Type: {error.error_type}"
            )
            self.on_event("init-error", {"function": self.name, "error": str(error)})
            return Outcome(error=str(error))
        self.log(f"START RequestId: {request_id} Version: $LATEST")
        started = time.perf_counter()
        invocation = environment.invoke(json.dumps(event).encode(), request_id, self.timeout)
        duration_ms = (time.perf_counter() - started) * 1000
        memory = environment.max_memory_mb()
        outcome = Outcome(duration_ms=duration_ms, request_id=request_id)
        status = ""
        if not invocation.done.is_set():
            outcome.timed_out = True
            outcome.error = f"Task timed out after {self.timeout:.2f} seconds"
            status = "timeout"
            environment.kill()  # nothing it would do after the deadline happens
            self.stats.timeouts += 1
            self.log(f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {request_id} {outcome.error}")
            self.on_event("timeout", {"function": self.name, "request_id": request_id, "seconds": self.timeout})
        elif invocation.error is not None:
            error_type = str(invocation.error.get("errorType", "Runtime.Unknown"))
            outcome.error = f"{error_type}: {invocation.error.get('errorMessage', '')}"
            if error_type == "Runtime.ExitError":
                status = "error"
                self.stats.crashes += 1
                self.log(f"RequestId: {request_id} Error: {invocation.error.get('errorMessage')}\n{error_type}")
        else:
            try:
                outcome.response = json.loads(invocation.response or b"null")
            except ValueError:
                outcome.error = "Runtime.InvalidResponse: the response is not JSON"
        self.log(f"END RequestId: {request_id}")
        self._report(request_id, duration_ms, init_ms, memory, status)
        self._release(environment)
        return outcome

    def _report(
        self, request_id: str, duration_ms: float, init_ms: float | None, memory: int | None, status: str
    ) -> None:
        # Lambda bills the init phase too (since August 2025), rounded up to the millisecond.
        billed = math.ceil(duration_ms) + (math.ceil(init_ms) if init_ms is not None else 0)
        parts = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.spec.memory_mb} MB",
            f"Max Memory Used: {memory if memory is not None else '?'} MB",
        ]
        if init_ms is not None:
            parts.append(f"Init Duration: {init_ms:.2f} ms")
        if status:
            parts.append(f"Status: {status}")
        self.on_event(
            "report",
            {
                "function": self.name,
                "line": "\t".join(parts),
                "request_id": request_id,
                "duration_ms": round(duration_ms, 2),
                "billed_ms": billed,
                "memory_mb": self.spec.memory_mb,
                "max_memory_mb": memory,
                "init_ms": round(init_ms, 2) if init_ms is not None else None,
                "status": status or "success",
            },
        )
