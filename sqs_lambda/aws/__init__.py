"""AWS I/O: :mod:`.clients` (boto3 clients built lazily for one :class:`AwsConfig`) and :mod:`.sqs` (the
SQS port: the ``SqsBackend`` Protocol and ``AwsSqs``). ``sqs_lambda.aws.client("s3")`` and the other
names below are the clients module's, as in 0.2."""

from __future__ import annotations

from .clients import (
    DEFAULT,
    LOCAL_KEY_PAIR,
    LOCAL_REGION,
    AwsConfig,
    client,
    default_region,
    error_code,
    is_loopback,
    local_defaults,
    on_reset,
    region_of,
    reset,
    resource,
)

__all__ = [
    "DEFAULT",
    "LOCAL_KEY_PAIR",
    "LOCAL_REGION",
    "AwsConfig",
    "client",
    "default_region",
    "error_code",
    "is_loopback",
    "local_defaults",
    "on_reset",
    "region_of",
    "reset",
    "resource",
]
