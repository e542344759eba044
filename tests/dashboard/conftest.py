"""The job inspector's fixtures: a real headless Chromium (Debian's package, driven by Selenium), and the
repository's example app run by ``sqs-lambda local --demo`` with its dashboard served.

In CI (``CI`` or ``SQS_LAMBDA_REQUIRE_BROWSER`` set: ``.ci/run`` sets it) a missing browser fails the
tests; elsewhere it skips them. Screenshots go to
``artifacts/screenshots/`` (or ``$SQS_LAMBDA_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("SQS_LAMBDA_ARTIFACTS", ROOT / "artifacts")) / "screenshots"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)


def _first(paths: tuple[str, ...], name: str) -> str | None:
    return next((path for path in paths if Path(path).exists()), None) or shutil.which(name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium. Missing: a failure in CI, a skip elsewhere."""
    chromium, driver = _first(CHROMIUM, "chromium"), _first(CHROMEDRIVER, "chromedriver")
    if chromium is None or driver is None:
        message = "Chromium or ChromeDriver not found: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI") or os.environ.get("SQS_LAMBDA_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",  # this machine's network is closed: no calls home
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1300,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.implicitly_wait(0)
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(browser: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take


@dataclass
class ExampleRun:
    """``sqs-lambda local --demo`` of the repository's example, with its dashboard."""

    directory: Path
    process: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def first(self, kind: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((event for event in list(self.events) if event["event"] == kind), None)
            if found is not None:
                return found
            if self.process.poll() is not None:
                errors = (self.directory / "stderr.txt").read_text()[-2000:]
                raise AssertionError(f"sqs-lambda local exited {self.process.returncode}: {errors}")
            time.sleep(0.1)
        raise AssertionError(f"no {kind} event within {timeout}s")

    @property
    def dashboard(self) -> str:
        return str(self.first("dashboard")["url"]).rstrip("/")

    @property
    def endpoint(self) -> str:
        return str(self.first("engine")["url"])

    def sqs(self) -> Any:
        import boto3

        return boto3.client(
            "sqs",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def url(self, name: str) -> str:
        return str(self.sqs().get_queue_url(QueueName=name)["QueueUrl"])

    def depth(self, name: str) -> int:
        attributes = self.sqs().get_queue_attributes(QueueUrl=self.url(name), AttributeNames=["All"])["Attributes"]
        return sum(
            int(attributes[key])
            for key in (
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            )
        )

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60, what: str = "the condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not happen within {timeout}s")
            time.sleep(0.25)


def example_template(directory: Path) -> Path:
    """The example's template, its code paths made absolute, in ``directory``."""
    text = (ROOT / "template.yaml").read_text()
    for before, after in [
        ("CodeUri: functions/", f"CodeUri: {ROOT}/functions/"),
        ("ContentUri: layer", f"ContentUri: {ROOT}/layer"),
        ("Demo: functions/", f"Demo: {ROOT}/functions/"),
    ]:
        assert before in text, before
        text = text.replace(before, after)
    path = directory / "template.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleRun]:
    directory = tmp_path_factory.mktemp("inspector")
    example_template(directory)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    stderr = (directory / "stderr.txt").open("w")
    process = subprocess.Popen(
        # --otel console: the functions print their spans, and the timelines show them
        [sys.executable, "-m", "sqs_lambda_dev.cli", "local", "--demo", "--json", "--no-reload", "--otel", "console"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=environment,
    )
    run = ExampleRun(directory, process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                run.events.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    try:
        run.first("dashboard")
        # the demo settles: photo.png rejected into the DLQ, the rest done
        run.wait_for(lambda: run.depth("dev-jobs-dlq") == 1 and run.depth("dev-jobs") == 0, 90, "the demo")
        yield run
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        stderr.close()
