"""``python -m sqs_lambda``: the ``sqs-lambda`` command, where the CLI is installed (``[cli]`` extra).

The one place the runtime package names the dev package, and only when run with ``-m``: nothing in a
Lambda function imports this module.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from sqs_lambda_dev.cli import main as command
    except ImportError:
        sys.stderr.write("error: the sqs-lambda command is not installed here: pip install 'sqs-lambda[cli]'\n")
        raise SystemExit(1) from None
    command()


if __name__ == "__main__":
    main()
