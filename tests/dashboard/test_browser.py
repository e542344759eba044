"""The job inspector in a real browser, against the example app under ``sqs-lambda local --demo``: the
overview's counts, the DLQ's reason and a redrive, markup in a body, the send form and a timeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from sqs_lambda.wire import envelope
from tests.dashboard.conftest import ExampleRun

pytestmark = pytest.mark.timeout(240)


def wait(browser: Any, seconds: float = 20) -> WebDriverWait:
    return WebDriverWait(browser, seconds, poll_frequency=0.1)


def text_of(browser: Any, selector: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, selector).text)


def test_the_overview_shows_the_demo_queues_with_the_counts_sqs_gives(
    example_run: ExampleRun, browser: Any, screenshot: Callable[[Any, str], Path]
) -> None:
    browser.get(example_run.dashboard + "/")
    wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "tr[data-queue]")))
    names = [row.get_attribute("data-queue") for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-queue]")]
    assert set(names) == {
        "dev-jobs",
        "dev-jobs-dlq",
        "dev-scheduled",
        "dev-scheduled-dlq",
        "dev-orders.fifo",
        "dev-orders-dlq.fifo",
    }
    sqs = example_run.sqs()
    for name in names:
        attributes = sqs.get_queue_attributes(QueueUrl=example_run.url(name), AttributeNames=["All"])["Attributes"]
        row = f'tr[data-queue="{name}"]'
        shown = {
            cell.get_attribute("data-count"): cell.text
            for cell in browser.find_elements(By.CSS_SELECTOR, f"{row} td[data-count]")
        }
        assert shown["visible"] == attributes["ApproximateNumberOfMessages"], name
        assert shown["in_flight"] == attributes["ApproximateNumberOfMessagesNotVisible"], name
        assert shown["delayed"] == attributes["ApproximateNumberOfMessagesDelayed"], name
    assert text_of(browser, 'tr[data-queue="dev-jobs"] td[data-count="dlq_depth"]') == "1"  # photo.png
    assert "DLQ of dev-jobs" in text_of(browser, 'tr[data-queue="dev-jobs-dlq"]')
    screenshot(browser, "overview")


def _peeked(browser: Any) -> list[Any]:
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages article, #messages .empty"))
    return list(browser.find_elements(By.CSS_SELECTOR, "#messages article.message"))


def test_the_rejected_file_shows_its_reason_and_a_redrive_sends_it_back_to_fail_again(
    example_run: ExampleRun, browser: Any, screenshot: Callable[[Any, str], Path]
) -> None:
    browser.get(example_run.dashboard + "/queues/dev-jobs-dlq")
    messages = _peeked(browser)
    assert len(messages) == 1
    assert "file photo.png is not a text file" in messages[0].find_element(By.CSS_SELECTOR, "dd.reason").text
    assert "Reject" in messages[0].text and "dev-jobs" in messages[0].text
    first_id = messages[0].get_attribute("data-message-id")
    envelope = messages[0].find_element(By.CSS_SELECTOR, "a.timeline").get_attribute("href").rsplit("/", 1)[-1]
    screenshot(browser, "dlq")
    messages[0].find_element(By.CSS_SELECTOR, "button.redrive").click()
    wait(browser).until(lambda b: "moved to dev-jobs" in b.find_element(By.ID, "result").text)
    assert text_of(browser, "#result") == "1 message moved to dev-jobs"
    # boto3: it left the DLQ for dev-jobs, failed there again and came back as a new message
    sqs = example_run.sqs()

    def back_in_the_dlq() -> bool:
        got = sqs.receive_message(QueueUrl=example_run.url("dev-jobs-dlq"), VisibilityTimeout=0, MaxNumberOfMessages=10)
        return any(m["MessageId"] != first_id for m in got.get("Messages", []))

    example_run.wait_for(back_in_the_dlq, 60, "the redriven file's return to the DLQ")
    assert example_run.depth("dev-jobs-dlq") == 1
    browser.get(example_run.dashboard + f"/jobs/{envelope}")
    every = [item.get_attribute("data-kind") for item in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")]
    kinds = [kind for kind in every if kind != "span"]  # the functions' spans (--otel console) are beside them
    assert kinds[:1] == ["sent"] and "redriven" in kinds and "span" in every
    after = kinds[kinds.index("redriven") :]
    assert "received" in after and "dead-lettered" in after, kinds
    screenshot(browser, "timeline-redriven")


def test_markup_in_a_body_is_shown_as_text_and_never_runs(
    example_run: ExampleRun, browser: Any, screenshot: Callable[[Any, str], Path]
) -> None:
    attack = "<img src=x onerror=\"document.title='pwned';window.pwned=1\"><script>window.pwned=2</script>"
    sqs = example_run.sqs()
    dlq = example_run.url("dev-scheduled-dlq")
    sqs.send_message(QueueUrl=dlq, MessageBody=attack)
    body, _ = envelope.encode("<b>bold</b>", {"html": attack}, context={"note": "<i>context</i>"})
    sqs.send_message(QueueUrl=dlq, MessageBody=body)  # a job whose name, kwargs and context hold markup
    try:
        browser.get(example_run.dashboard + "/queues/dev-scheduled-dlq")
        messages = _peeked(browser)
        assert len(messages) == 2
        page = browser.find_element(By.ID, "messages")
        for summary in page.find_elements(By.CSS_SELECTOR, "details summary"):
            summary.click()  # open the bodies: their text is shown
        assert attack in page.text  # the markup, as text
        assert "<b>bold</b>" in page.text and "<i>context</i>" in page.text
        jobs = [job.text for job in browser.find_elements(By.CSS_SELECTOR, "#messages strong.job")]
        assert sorted(jobs) == ["(raw)", "<b>bold</b>"]  # the envelope decoded: its job name, as text
        assert browser.execute_script("return window.pwned === undefined") is True
        assert browser.title != "pwned"
        assert page.find_elements(By.CSS_SELECTOR, "img, script, b, i") == []  # nothing of it became an element
        # the page's own scripts run under its Content-Security-Policy: nothing was blocked or failed
        problems = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert problems == [], problems
        screenshot(browser, "markup-as-text")
    finally:
        sqs.purge_queue(QueueUrl=dlq)


def test_a_job_sent_from_the_form_shows_sent_received_succeeded(
    example_run: ExampleRun, browser: Any, screenshot: Callable[[Any, str], Path]
) -> None:
    browser.get(example_run.dashboard + "/queues/dev-jobs")
    form = wait(browser).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, 'form.send[data-job="process_file"]'))
    )
    form.find_element(By.NAME, "file_id").send_keys("notes.md")  # a file the demo registered
    form.find_element(By.NAME, "content").send_keys("hello from the form")  # str | None: a line of text
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    result = wait(browser).until(lambda b: form.find_element(By.CSS_SELECTOR, ".send-result p"))
    assert "process_file sent to dev-jobs (envelope " in result.text, result.text
    envelope = result.text.rsplit("envelope ", 1)[1].rstrip(")")

    def timeline() -> list[str]:
        browser.get(example_run.dashboard + f"/jobs/{envelope}")
        return [item.get_attribute("data-kind") for item in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")]

    def done(kinds: list[str]) -> bool:  # the function's process span (--otel console) comes with them
        return [k for k in kinds if k != "span"] == ["sent", "received", "succeeded"] and "span" in kinds

    deadline = time.monotonic() + 60
    while not done(kinds := timeline()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert done(kinds), kinds
    assert "received by dev-files-worker from dev-jobs (attempt 1): succeeded" in text_of(browser, "li.received")
    assert "process dev-jobs: succeeded, " in text_of(browser, "li.span")
    screenshot(browser, "timeline")


def test_an_invalid_argument_is_refused_at_its_field(example_run: ExampleRun, browser: Any) -> None:
    browser.get(example_run.dashboard + "/queues/dev-orders.fifo")
    form = wait(browser).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, 'form.send[data-job="apply_order_event"]'))
    )
    before = example_run.depth("dev-orders.fifo")
    form.find_element(By.NAME, "tenant").send_keys("acme")
    form.find_element(By.NAME, "sequence").send_keys("three")
    form.find_element(By.NAME, "action").send_keys("created")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def field_error(name: str) -> str:  # the span beside the field, found afresh: htmx swaps the form's parts
        try:
            return str(browser.find_element(By.ID, f"error-apply_order_event-{name}").text)
        except StaleElementReferenceException:
            return ""

    wait(browser).until(lambda b: field_error("sequence"))
    assert "Expected `int`" in field_error("sequence"), field_error("sequence")
    assert field_error("tenant") == ""
    assert "not sent" in text_of(browser, ".send-result p")
    assert example_run.depth("dev-orders.fifo") == before  # nothing was sent


def test_a_fifo_queue_is_peeked_only_after_the_page_asks(example_run: ExampleRun, browser: Any) -> None:
    sqs = example_run.sqs()
    dlq = example_run.url("dev-orders-dlq.fifo")
    sqs.send_message(QueueUrl=dlq, MessageBody="held", MessageGroupId="acme", MessageDeduplicationId="held-1")
    try:
        browser.get(example_run.dashboard + "/queues/dev-orders-dlq.fifo")
        wait(browser).until(lambda b: b.find_element(By.CSS_SELECTOR, "button.peek"))
        assert "their message groups are held" in text_of(browser, "p.note")
        time.sleep(0.5)
        assert browser.find_elements(By.CSS_SELECTOR, "#messages article") == []  # nothing peeked unasked
        browser.find_element(By.CSS_SELECTOR, "button.peek").click()
        alert = wait(browser).until(expected_conditions.alert_is_present())
        assert "holds each message group of dev-orders-dlq.fifo" in alert.text
        alert.accept()
        (message,) = _peeked(browser)
        assert "group acme" in message.text
        assert (
            sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
            == "1"
        )  # given back at once
    finally:
        sqs.purge_queue(QueueUrl=dlq)


def test_read_only_shows_no_action(example_run: ExampleRun, browser: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.dashboard.test_cli import environment, read_until

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sqs_lambda_dev.cli",
            "dashboard",
            "--endpoint-url",
            example_run.endpoint,
            "--template",
            str(example_run.directory / "template.yaml"),
            "--read-only",
            "--port",
            "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    try:
        url = read_until(process, [], "job inspector: ").split("job inspector: ", 1)[1].split()[0]
        browser.get(url + "queues/dev-jobs-dlq")
        assert _peeked(browser)  # looking is allowed: the rejected file is there
        assert "read-only" in text_of(browser, "header .where")
        for selector in (
            "button.redrive",
            "button.redrive-all",
            "button.purge",
            "button.delete",
            "details.edit",
            "form.send",
        ):
            assert browser.find_elements(By.CSS_SELECTOR, selector) == [], selector
        browser.get(url + "queues/dev-jobs")
        wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#messages article, #messages .empty"))
        assert browser.find_elements(By.CSS_SELECTOR, "form.send, button.purge") == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_functions_page_shows_environments_reports_and_links_job_lines(
    example_run: ExampleRun, browser: Any, screenshot: Callable[[Any, str], Path]
) -> None:
    browser.get(example_run.dashboard + "/functions")
    rows = {
        row.find_element(By.CSS_SELECTOR, "td").text: row
        for row in browser.find_elements(By.CSS_SELECTOR, "table.functions tbody tr:not(.reports)")
    }
    assert {"dev-files-worker", "dev-files-api", "dev-orders"} <= set(rows)
    cells = [cell.text for cell in rows["dev-files-worker"].find_elements(By.CSS_SELECTOR, "td.n")]
    invocations, environments, cold_starts = int(cells[0]), int(cells[1]), int(cells[2])
    assert invocations >= 1 and environments >= 1 and cold_starts >= 1
    assert "REPORT RequestId:" in browser.find_element(By.CSS_SELECTOR, "tr.reports").text
    link = next(line for line in browser.find_elements(By.CSS_SELECTOR, "pre.job-line") if "photo.png" in line.text)
    screenshot(browser, "functions")
    link.find_element(By.CSS_SELECTOR, "a").click()
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "ol.timeline li"))
    assert "dead-lettered" in [
        i.get_attribute("data-kind") for i in browser.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    ]
