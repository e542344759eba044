"""A function's jobs, read in a process of its own: the job inspector's send form and its checks, without
importing function code into ``sqs-lambda local``'s process (which imports none).

The probe is ``python -m sqs_lambda_dev.dashboard.probe LOGICAL_ID`` started with the function's code
directory, layers and environment (as its execution environments get them); it imports the handler and
answers one JSON line per request line on stdin:

- ``{"op": "jobs"}`` -> ``{"jobs": {name: [field, ...]}}`` (see :mod:`.forms`), or ``{"error": ...}``;
- ``{"op": "validate", "job": name, "kwargs": "<JSON>"}`` -> ``{"ok": true}`` or ``{"error": reason}``.

:class:`ProbedRouter` is the other end: it has the ``jobs`` mapping a producer and the forms read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec

from sqs_lambda.errors import JobArgumentError

TIMEOUT_SECONDS = 30.0


class Probe:
    """One probe process (started on first use, restarted if it died). Thread-safe."""

    def __init__(self, logical: str, code_dir: Path, environment: dict[str, str]) -> None:
        self.logical, self.code_dir, self.environment = logical, code_dir, environment
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "sqs_lambda_dev.dashboard.probe", self.logical],
                    cwd=self.code_dir,
                    env=self.environment,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                line = process.stdout.readline()
            except OSError:
                line = ""
            if not line:
                self.close_locked()
                return {"error": f"{self.logical}: its code could not be imported"}
            answer: dict[str, Any] = json.loads(line)
            return answer

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


class ProbedJob:
    """What a producer and the forms need of a job: its fields and a validation that runs in the probe."""

    def __init__(self, name: str, fields: list[dict[str, Any]], probe: Probe) -> None:
        self.name, self.fields, self.probe = name, fields, probe
        self.schema = SimpleNamespace(models={})  # model arguments travel as given: the probe checks them

    def validate(self, kwargs: Any) -> dict[str, Any]:
        raw = bytes(kwargs).decode() if isinstance(kwargs, msgspec.Raw) else json.dumps(kwargs)
        answer = self.probe.ask({"op": "validate", "job": self.name, "kwargs": raw})
        if "error" in answer:
            raise JobArgumentError(str(answer["error"]), job=self.name)
        return dict(json.loads(raw))


class ProbedRouter:
    """A function's router as the dashboard sees it: ``jobs``, read once from its probe."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self._jobs: dict[str, ProbedJob] | None = None

    @property
    def jobs(self) -> dict[str, ProbedJob]:
        if self._jobs is None:
            answer = self.probe.ask({"op": "jobs"})
            found = answer.get("jobs") or {}
            self._jobs = {name: ProbedJob(name, fields, self.probe) for name, fields in found.items()}
        return self._jobs


# -- the probe's own side ------------------------------------------------------------------------------


def serve(logical: str) -> None:
    """Import the handler named by ``_HANDLER`` from the working directory and answer requests."""
    import os

    from sqs_lambda_dev.dashboard.forms import fields_of
    from sqs_lambda_dev.local.functions import import_handler

    answers, sys.stdout = sys.stdout, sys.stderr  # what the function's code prints must not break the protocol
    router: Any = None
    error = ""
    try:
        handler = import_handler(logical, Path.cwd(), os.environ["_HANDLER"])
        router = getattr(getattr(handler, "__wrapped__", handler), "__self__", None)
        if router is None or not hasattr(router, "jobs"):
            error = f"{logical}: its handler is not a router's"
    except BaseException as failure:  # the function's import failed: say so, never crash the dashboard
        error = f"{logical}: {type(failure).__name__}: {failure}"
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, Any]
        if error:
            answer = {"error": error}
        elif request.get("op") == "jobs":
            answer = {"jobs": {name: [asdict(field) for field in fields_of(job)] for name, job in router.jobs.items()}}
        else:
            job = router.jobs.get(request.get("job"))
            try:
                if job is None:
                    raise JobArgumentError(f"{logical} has no job {request.get('job')!r}")
                job.validate(msgspec.Raw(str(request.get("kwargs", "{}")).encode()))
                answer = {"ok": True}
            except (TypeError, ValueError) as refused:
                answer = {"error": str(refused)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
