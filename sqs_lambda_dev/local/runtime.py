"""``sqs-lambda local``: run a whole SAM template on this machine.

The runtime starts (or connects to) an SQS endpoint, creates the template's resources, and runs the
template's event sources (:mod:`.sources`: the SQS mappings' pollers, the scheduled rules, the HTTP API).
Each function runs in execution environments of its own (:mod:`.environments`): separate processes
with AWS's runtime interface client, its own environment and path, so its real ``lambda_handler`` gets
Lambda's event and context, as in AWS. The runtime's process imports no
function code. A state file (``.sqs-lambda/local.json``) lets other commands find it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda.aws import LOCAL_KEY_PAIR, AwsConfig
from sqs_lambda.aws.sqs import AwsSqs
from sqs_lambda.errors import ConfigurationError
from sqs_lambda.settings import OTEL_EXPORTER
from sqs_lambda_dev.engine.moto_server import ENDPOINT_VARIABLES, LOCAL_KEYS, EmbeddedEngine
from sqs_lambda_dev.engine.moto_speedups import unverified_notice
from sqs_lambda_dev.local.chaos import Chaos, ChaosSpec
from sqs_lambda_dev.local.environments import FunctionPool
from sqs_lambda_dev.local.functions import FunctionSpec, function_specs
from sqs_lambda_dev.local.http import HttpApiSource
from sqs_lambda_dev.local.journal import Journal, journal_path, tee
from sqs_lambda_dev.local.ledger import Ledger
from sqs_lambda_dev.local.reload import CodeWatcher
from sqs_lambda_dev.local.resources import LocalResources, create
from sqs_lambda_dev.local.schedule import ScheduledTarget, ScheduleSource
from sqs_lambda_dev.local.sources import EventSource, SourceSetup, build_sources
from sqs_lambda_dev.local.trigger import SqsSource, Trigger
from sqs_lambda_dev.validate.template import Template, load

STATE_DIR = ".sqs-lambda"
STATE_FILE = "local.json"


@dataclass
class RuntimeOptions:
    template: Path = Path("template.yaml")
    endpoint_url: str | None = None
    stage: str | None = None
    fire_schedules: bool = False
    state_dir: Path = Path(STATE_DIR)
    parameters: dict[str, str] = field(default_factory=dict)
    reload: bool = True  # a change under a function's code retires its environments
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))  # schedules (tests fake it)
    chaos: ChaosSpec | None = None  # faults injected on purpose (--chaos)
    journal: bool = True  # keep the event stream in state_dir/events.jsonl (the job inspector reads it)
    otel: str | None = None  # "console" or "otlp": every function traces with OpenTelemetry's SDK (--otel)


def state_path(directory: Path | str = STATE_DIR) -> Path:
    return Path(directory) / STATE_FILE


def read_state(directory: Path | str = STATE_DIR) -> dict[str, Any] | None:
    """The running local runtime's state, or None when there is none (or it is gone)."""
    path = state_path(directory)
    if not path.exists():
        return None
    try:
        state = dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    pid = int(state.get("pid", 0))
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return state


def function_environment(endpoint: str, *, local_keys: bool) -> dict[str, str]:
    """What every local function finds in its environment besides its own variables and Lambda's: the
    endpoint, and credentials for it (the local keys, or an external engine's from this shell)."""
    environment = {name: endpoint for name in ENDPOINT_VARIABLES}
    if local_keys:
        environment.update(LOCAL_KEYS)
    else:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if name in os.environ:
                environment[name] = os.environ[name]
    return environment


def consuming_function(state: dict[str, Any], queue_url: str) -> FunctionPool | None:
    """The running local runtime's function that ``queue_url`` triggers, as an execution environment
    pool of this process (with the function's own environment, as the runtime runs it); None if none."""
    template = load(state["template"], stage=state.get("stage"))
    queues: dict[str, str] = state["queues"]
    names = {**queues, **state.get("buckets", {}), **state.get("tables", {})}
    specs = function_specs(template, names)
    for _, _, queue, function in template.event_source_mappings():
        if queues.get(str(queue)) != queue_url:
            continue
        spec = specs.get(str(function))
        if spec is not None:
            environment = function_environment(state["endpoint_url"], local_keys=bool(state.get("local_keys", True)))
            return FunctionPool(spec, environment=environment, region=template.region)
    return None


class LocalRuntime:
    """Everything ``sqs-lambda local`` runs; ``start()``, then ``run_until(...)`` or ``stop()``."""

    def __init__(self, options: RuntimeOptions, on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.options = options
        self.on_event = on_event or (lambda kind, data: None)
        self.journal: Journal | None = None
        if options.journal:
            self.journal = Journal(journal_path(options.state_dir))
            self.on_event = tee(self.on_event, self.journal)
        self.engine: EmbeddedEngine | None = None
        self.backend: AwsSqs = AwsSqs()
        self.credentials: tuple[str, str] | None = None
        self.endpoint = options.endpoint_url or ""
        self.template: Template | None = None
        self.resources = LocalResources()
        self.functions: dict[str, FunctionPool] = {}
        self.sources: list[EventSource] = []
        self.chaos: Chaos | None = None
        self.ledger: Ledger | None = None
        self._stop = threading.Event()
        self.started = False  # start() went through: its resources exist
        self.started_at = time.monotonic()

    # -- start-up -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.options.endpoint_url and "amazonaws.com" in self.options.endpoint_url:
            raise ConfigurationError("sqs-lambda local never runs against AWS itself: give a local endpoint")
        running = read_state(self.options.state_dir)  # a stale file (its process gone) reads as None
        if running is not None and running.get("pid") != os.getpid():
            raise ConfigurationError(
                f"a local runtime already runs in this directory (pid {running['pid']}, {running['endpoint_url']}): "
                "stop it first, or use it (--local, sqs-lambda env)"
            )
        template = load(self.options.template, parameters=self.options.parameters, stage=self.options.stage)
        self.template = template
        if not self.endpoint:
            self.engine = EmbeddedEngine()
            self.endpoint = self.engine.start()
        self.on_event("engine", {"url": self.endpoint, "embedded": self.engine is not None})
        notice = unverified_notice() if self.engine is not None else None
        if notice:
            self.on_event("warning", {"message": notice})
        # The endpoint is configuration: the runtime's own clients are given it, and each function gets it
        # in its environment (as a deployed function gets AWS's); os.environ is left alone.
        external_keys = self.engine is None and "AWS_ACCESS_KEY_ID" in os.environ  # an external engine's own
        self.credentials = None if external_keys else LOCAL_KEY_PAIR
        self.aws = AwsConfig(endpoint_url=self.endpoint, region=template.region, credentials=self.credentials)
        self.backend = AwsSqs(config=self.aws)
        self.resources = create(template, self.client)
        self.on_event(
            "resources",
            {
                "queues": {k: self.resources.queue_name(k) for k in self.resources.queue_urls},
                "buckets": self.resources.buckets,
                "tables": self.resources.tables,
            },
        )
        specs = function_specs(template, self.resources.names())
        if self.options.chaos is not None:
            self.chaos, self.ledger = Chaos(self.options.chaos, self.on_event), Ledger()
        environment = self.function_environment()
        self.functions = {
            logical: FunctionPool(
                spec,
                environment={**environment, **(self.chaos.clock_skew(spec.name) if self.chaos else {})},
                region=template.region,
                on_event=self.on_event,
            )
            for logical, spec in specs.items()
        }
        self._check_python_versions(specs)
        setup = SourceSetup(
            template,
            self.resources,
            self.functions,
            self.backend,
            self.on_event,
            clock=self.options.clock,
            fire_schedules=self.options.fire_schedules,
            chaos=self.chaos,
            ledger=self.ledger,
        )
        self.sources = build_sources(setup)
        for source in self.sources:
            if source.serves_at_start:
                source.start(self._stop)
        self._write_state()
        self.started = True

    def _check_python_versions(self, specs: dict[str, FunctionSpec]) -> None:
        """Say once which functions declare another Python than the one running them here."""
        running = f"python{sys.version_info.major}.{sys.version_info.minor}"
        others: dict[str, list[str]] = {}
        for logical, spec in specs.items():
            if spec.runtime.startswith("python") and spec.runtime != running:
                others.setdefault(spec.runtime, []).append(logical)
        for declared, names in sorted(others.items()):
            self.on_event(
                "warning",
                {"message": f"{', '.join(sorted(names))}: the template says {declared}; running on {running} here"},
            )

    def client(self, service: str) -> Any:
        """A boto3 client for the runtime's endpoint (S3, DynamoDB...; SQS goes through ``backend``)."""
        assert self.template is not None
        return self.aws.client(service)

    def function_environment(self) -> dict[str, str]:
        environment = function_environment(self.endpoint, local_keys=self.credentials is not None)
        if self.options.otel:  # the functions set up the SDK themselves (sqs_lambda.otel), with this shell's OTEL_*
            environment[OTEL_EXPORTER] = self.options.otel
            environment.update({k: v for k, v in os.environ.items() if k.startswith("OTEL_")})
        return environment

    def _write_state(self) -> None:
        assert self.template is not None
        state = {
            "pid": os.getpid(),
            "endpoint_url": self.endpoint,
            "stage": self.template.parameters.get("Stage"),
            "template": str(self.options.template.resolve()),
            "queues": self.resources.queue_urls,
            "buckets": self.resources.buckets,
            "tables": self.resources.tables,
            "local_keys": self.credentials is not None,
            "api_url": self.api_url,
            "dlqs": sorted(self.resources.dlqs),
            "region": self.template.region,
            "started_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        self.options.state_dir.mkdir(parents=True, exist_ok=True)
        state_path(self.options.state_dir).write_text(json.dumps(state, indent=2))

    # -- running ------------------------------------------------------------------------------------

    def run_background(self) -> None:
        """Start the other event sources (the pollers, the schedules) and the code watcher."""
        for source in self.sources:
            if not source.serves_at_start:
                source.start(self._stop)
        if self.options.reload and self.functions:
            watched = [(pool, [pool.spec.code_dir, *pool.spec.layer_paths]) for pool in self.functions.values()]
            watcher = CodeWatcher(watched, self.on_event)
            threading.Thread(target=watcher.run, args=(self._stop,), daemon=True, name="reload").start()

    def queue_counts(self) -> dict[str, dict[str, int]]:
        """Visible / in flight / delayed per queue (by local name)."""
        counts = {}
        for logical, url in self.resources.queue_urls.items():
            counted = self.backend.counts(url)
            counts[logical] = {"visible": counted.visible, "in_flight": counted.in_flight, "delayed": counted.delayed}
        return counts

    def is_idle(self) -> bool:
        """Every source queue is empty (DLQs may hold messages) and nothing is being invoked."""
        if any(source.busy() for source in self.sources):
            return False
        for logical, counts in self.queue_counts().items():
            if logical not in self.resources.dlqs and any(counts.values()):
                return False
        return True

    def run_until_idle(self, timeout: float = 300.0, settle: float = 1.5) -> bool:
        """Wait until idle for ``settle`` seconds in a row; False on timeout."""
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline and not self._stop.is_set():
            if self.is_idle():
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= settle:
                    return True
            else:
                idle_since = None
            time.sleep(0.3)
        return False

    def request_stop(self) -> None:
        """Ask the runtime to stop (safe from a signal handler); :meth:`wait` returns then."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is requested (or ``timeout`` passes); True once one was."""
        return self._stop.wait(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- what the sources are (the display, the state file, tests) ------------------------------------

    @property
    def triggers(self) -> dict[str, Trigger]:
        """The SQS event source mappings' pollers, by mapping name."""
        return next((source.triggers for source in self.sources if isinstance(source, SqsSource)), {})

    @property
    def schedules(self) -> list[ScheduledTarget]:
        return next((source.targets for source in self.sources if isinstance(source, ScheduleSource)), [])

    @property
    def api_url(self) -> str | None:
        return next((source.url for source in self.sources if isinstance(source, HttpApiSource)), None)

    def chaos_report(self, *, finished: bool = True) -> dict[str, Any] | None:
        """With ``--chaos``: the jobs' fates (see :mod:`.ledger`), the DLQs read now; ``finished``: the
        source queues went idle (else what is left is under way, not lost)."""
        if self.chaos is None or self.ledger is None:
            return None
        from sqs_lambda_dev.ops import peek

        dead = [
            entry
            for logical in sorted(self.resources.dlqs)
            for entry in peek(self.backend, self.resources.queue_urls[logical], count=10_000)
        ]
        return self.ledger.report(dead, self.chaos.injected, finished=finished)

    def running_invocations(self) -> int:
        return sum(function.busy for function in self.functions.values())

    def force_stop(self) -> None:
        """Stop now: kill every environment (an invocation under way ends as a crash; its batch returns
        to its queue after the visibility timeout)."""
        self._stop.set()
        for function in self.functions.values():
            function.close()

    def drain(self) -> None:
        """Stop polling and wait for the invocations under way to finish (their records are deleted only
        if they succeeded); the engine stays up, so counts can still be read."""
        self._stop.set()
        longest = max((function.timeout for function in self.functions.values()), default=3) + 5
        for source in self.sources:
            if not source.serves_at_start:
                source.stop(timeout=longest)

    def stop(self) -> None:
        """:meth:`drain`, then stop the API server, the environments and the engine, and remove the state."""
        self.drain()
        path = state_path(self.options.state_dir)
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
        for source in self.sources:
            if source.serves_at_start:
                source.stop(timeout=0)
        for function in self.functions.values():
            function.close()
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        if self.journal is not None:
            self.journal.close()
