"""``sqs-lambda local`` in a real terminal: Ctrl-C through a pseudo-terminal, and a closed pipe (#20, item 2).

A terminal sends SIGINT to its whole foreground process group; before the fix that killed the engine and
the environments under the runtime (exit 2, "cannot reach the endpoint", no END/REPORT, a state file
and an orphaned moto server left behind).
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqs_lambda.wire import envelope
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

APP = """
import time
from sqs_lambda import Router

router = Router()


@router.job()
def hello(name: str, seconds: float = 0) -> None:
    print("hello", name, flush=True)
    time.sleep(seconds)
    print("done", name, flush=True)


lambda_handler = router.lambda_handler
"""
COMMAND = [sys.executable, "-m", "sqs_lambda_dev.cli", "local"]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    resources = {
        **queue_with_dlq("Jobs", queue_name="jobs", visibility=60),
        "Worker": sqs_function("app.lambda_handler", "Jobs", timeout=10),
    }
    (tmp_path / "template.yaml").write_text(json.dumps(sam_template(resources)))
    return tmp_path


def send_when_up(directory: Path, name: str, seconds: float) -> None:
    """Wait for the runtime's state file, then send one job to its engine."""
    from sqs_lambda.aws.sqs import AwsSqs

    state_file = directory / ".sqs-lambda" / "local.json"
    deadline = time.monotonic() + 60
    while not state_file.exists():
        assert time.monotonic() < deadline, "the local runtime did not start"
        time.sleep(0.1)
    state = json.loads(state_file.read_text())
    backend = AwsSqs(endpoint_url=state["endpoint_url"], region="us-east-1", credentials=("k", "s"))
    backend.send(state["queues"]["Jobs"], envelope.encode("hello", {"name": name, "seconds": seconds})[0])


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line) for line in out.split()}


def alive(pids: set[int]) -> set[int]:
    found = set()
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        try:  # a zombie is dead: its parent (this test's pty child) is gone
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                continue
        except OSError:
            continue
        found.add(pid)
    return found


class Terminal:
    """A command in a pseudo-terminal, as a person runs it."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the command, in the terminal's foreground process group
            os.chdir(cwd)
            os.execv(command[0], command)
        self.output = b""

    def read_until(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while text.encode() not in self.output:
            assert time.monotonic() < deadline, f"{text!r} not shown; output:\n{self.text()}"
            self._read(0.1)

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            self.output += data
        return True

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")  # the terminal turns it into SIGINT for the foreground group

    def wait(self, seconds: float = 60) -> int:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(0.1)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                while self._read(0.05):
                    pass
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"still running after {seconds}s; output:\n{self.text()}")

    def text(self) -> str:
        return self.output.decode(errors="replace")


def test_ctrl_c_lets_the_running_job_finish_then_exits_0_leaving_nothing(app: Path) -> None:
    terminal = Terminal(COMMAND, app)
    send_when_up(app, "ada", 2.0)
    terminal.read_until("hello ada")
    children = children_of(terminal.pid)
    assert children, "the engine and the environment run as the runtime's children"
    terminal.ctrl_c()
    code = terminal.wait()
    after_ctrl_c = terminal.text().split("hello ada", 1)[1]
    assert code == 0, terminal.text()
    assert "done ada" in after_ctrl_c and "END RequestId" in after_ctrl_c and "REPORT RequestId" in after_ctrl_c
    assert "cannot reach" not in terminal.text()
    assert not (app / ".sqs-lambda" / "local.json").exists()
    time.sleep(0.5)
    assert alive(children) == set()


def test_a_second_ctrl_c_forces_the_stop(app: Path) -> None:
    terminal = Terminal(COMMAND, app)
    send_when_up(app, "bob", 30.0)
    terminal.read_until("hello bob")
    children = children_of(terminal.pid)
    terminal.ctrl_c()
    terminal.read_until("Ctrl-C again forces")
    started = time.monotonic()
    terminal.ctrl_c()
    assert terminal.wait(20) == 130
    assert time.monotonic() - started < 10
    assert "done bob" not in terminal.text()
    assert not (app / ".sqs-lambda" / "local.json").exists()
    time.sleep(0.5)
    assert alive(children) == set()


def test_sigterm_and_sighup_drain_too(app: Path) -> None:
    for stop_signal, name in ((signal.SIGTERM, "term"), (signal.SIGHUP, "hup")):
        terminal = Terminal(COMMAND, app)
        send_when_up(app, name, 1.5)
        terminal.read_until(f"hello {name}")
        os.kill(terminal.pid, stop_signal)
        assert terminal.wait() == 0, terminal.text()
        assert f"done {name}" in terminal.text() and "REPORT RequestId" in terminal.text()


def test_a_closed_pipe_stops_the_runtime_and_leaves_no_orphan(app: Path) -> None:
    process = subprocess.Popen(COMMAND, cwd=app, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    first = process.stdout.readline()  # "SQS endpoint ...": the runtime is up; `head -1` would stop here
    assert b"SQS endpoint" in first
    send_when_up(app, "eve", 0.0)
    children = children_of(process.pid)
    process.stdout.close()  # the reader leaves, as `| head` does
    send_when_up(app, "eve", 0.0)  # more output to write into the closed pipe
    assert process.wait(60) == 0
    time.sleep(0.5)
    assert alive(children) == set()
    assert not (app / ".sqs-lambda" / "local.json").exists()


ENV_APP = """
import os
from sqs_lambda import Reject, Router

router = Router()


@router.job()
def once(flag: str) -> None:
    if os.path.exists(flag):
        os.remove(flag)
        raise Reject("the flag was up")
    print("ran once", flush=True)


lambda_handler = router.lambda_handler
"""


def test_env_points_a_script_at_the_runtime_and_in_place_redrive_runs_in_the_function(app: Path) -> None:
    """`eval "$(sqs-lambda env)"` then a plain producer script; `redrive --local --in-place` runs the DLQ's
    message in the function's own environment (before: NoRegionError, then "2 failed" and exit 0)."""
    (app / "src" / "app.py").write_text(ENV_APP)
    flag = app / "flag"
    flag.write_text("up")
    process = subprocess.Popen([*COMMAND, "--json"], cwd=app, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        send_when_up(app, "x", 0)  # an unknown job's message: waits for the state file (and goes to the DLQ)
        cli = f"{sys.executable} -m sqs_lambda_dev.cli"
        script = f"from sqs_lambda import Producer; Producer(queue_name='jobs').send('once', flag={str(flag)!r})"
        home = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_LAMBDA_"))} | {"HOME": str(app)}

        def bash(command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", "-c", command], cwd=app, env=home, capture_output=True, text=True, timeout=120
            )

        shell = bash(f'eval "$({cli} env)" && {sys.executable} -c "{script}"')
        assert shell.returncode == 0, shell.stderr
        dlq = json.loads((app / ".sqs-lambda" / "local.json").read_text())["queues"]["JobsDLQ"]
        state = json.loads((app / ".sqs-lambda" / "local.json").read_text())
        from sqs_lambda.aws.sqs import AwsSqs

        backend = AwsSqs(endpoint_url=state["endpoint_url"], region="us-east-1", credentials=("k", "s"))
        deadline = time.monotonic() + 30
        while backend.counts(dlq).total < 2:  # the unknown job, and `once` rejected while the flag was up
            assert time.monotonic() < deadline
            time.sleep(0.2)
        redrive = bash(f"{cli} redrive jobs-dlq --local --in-place")
        assert "1 succeeded and left the DLQ; 1 failed and stay in it" in redrive.stdout, redrive.stderr
        assert redrive.returncode == 1  # a failure stays: a failed check
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
