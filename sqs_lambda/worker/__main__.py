"""``python -m sqs_lambda.worker MODULE:router --queue ...``: worker mode without the CLI's dependencies."""

from __future__ import annotations

from .poller import main

if __name__ == "__main__":
    raise SystemExit(main())
