"""``python -m sqs_lambda_dev.cli``: the ``sqs-lambda`` command."""

from sqs_lambda_dev.cli import main

main()
