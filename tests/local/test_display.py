"""What `sqs-lambda local` shows (#20, item 11): the functions table in 80 columns."""

from __future__ import annotations

from rich.console import Console

from sqs_lambda_dev.local.display import Display, common_prefix


def test_the_function_table_fits_80_columns_with_every_name_told_apart() -> None:
    names = ["dev-files-worker", "dev-files-sweeper", "dev-orders", "dev-files-api"]
    row = {
        "invocations": 1200, "records": 12000, "succeeded": 11998, "dead_lettered": 1, "failed": 1,
        "p50_ms": 12082, "p95_ms": 52082, "cold_starts": 2, "timeouts": 0, "init_errors": 0, "environments": 10,
    }  # fmt: skip
    console = Console(width=80, record=True)
    console.print(Display.function_table({name: row for name in names}))
    text = console.export_text()
    assert "…" not in text and max(len(line.rstrip()) for line in text.splitlines()) <= 80
    assert text.startswith("functions (dev-...)")
    shown = [line.split()[0] for line in text.splitlines()[3:] if line.strip()]
    assert shown == ["files-worker", "files-sweeper", "orders", "files-api"]
    assert all(value in text for value in ("12082", "52082", "11998", "1200"))


def test_a_single_function_keeps_its_whole_name() -> None:
    assert common_prefix(["dev-files-worker"]) == ""
    assert common_prefix(["dev-a", "dev-b"]) == "dev-"
    assert common_prefix(["alpha", "beta"]) == ""
