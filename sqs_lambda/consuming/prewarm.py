"""The failure path, warmed at init (``SQS_LAMBDA_PREWARM=true``).

A record's first DLQ copy in a fresh execution environment imports boto3, builds the SQS client and reads
the queue's and its DLQ's attributes: 0.4-0.6 s, up to 2.8 s, which a 3 s function may not have left. With
the setting on, a router does that work when it is built, in Lambda's init phase (its own 10 s, before
the first invocation's timeout starts), so the first copy costs one SendMessage. Off by default: it adds
that time to every cold start, and most functions never fail a record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import observe, settings

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend


def prewarm(port: SqsBackend | None = None) -> bool:
    """Build the client and read the facts of the router's queue (``SQS_LAMBDA_QUEUE_URL``) and its DLQ
    through ``port`` (default: boto3's, the one a router without a port uses). Never raises: a failure is
    logged, and the failure path stays cold. True when the queue's facts were read."""
    from ..aws.sqs import default_backend

    port = port or default_backend()
    url = settings.current().queue_url
    try:
        if url is None:
            client = getattr(port, "client", None)
            if client is not None:
                client()  # boto3 imported and the client built, at least
            return False
        info = port.queue_info(url=url)
        if info.dlq_arn:
            port.queue_info(arn=info.dlq_arn)
        return True
    except Exception as error:
        observe.log_loudly("could not warm the failure path at init", error_message=str(error)[:500])
        return False
