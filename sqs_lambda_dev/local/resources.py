"""Create what a template declares on a local endpoint: queues (with redrive), buckets and tables.

Names come from the template (so they carry the stage prefix); resources without a name get
``<stage>-<LogicalId>``. Creation is idempotent, so a restart reuses what an external engine kept.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqs_lambda.errors import ConfigurationError
from sqs_lambda.wire import codec
from sqs_lambda_dev.validate.template import Template

QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "ReceiveMessageWaitTimeSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


@dataclass
class LocalResources:
    """Logical id -> local name/URL for everything created; ``dlqs`` lists the dead-letter queues."""

    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    dlqs: dict[str, str] = field(default_factory=dict)  # DLQ logical id -> source logical id

    def names(self) -> dict[str, str]:
        """What a bare ``Ref`` resolves to locally (queue URLs, bucket and table names)."""
        return {**self.queue_urls, **self.buckets, **self.tables}

    def queue_name(self, logical: str) -> str:
        return self.queue_arns[logical].rsplit(":", 1)[-1]


def _queue_name(template: Template, logical: str) -> str:
    name = template.physical_name(logical)
    if name:
        return name
    fifo = str(template.properties(logical).get("FifoQueue", "")).lower() == "true"
    stage = template.parameters.get("Stage", "local")
    return f"{stage}-{logical}" + (".fifo" if fifo else "")


def create(template: Template, clients: Any) -> LocalResources:
    """Create queues, buckets and tables; ``clients(service)`` returns a boto3 client."""
    made = LocalResources()
    sqs = clients("sqs")
    queues = template.of_type("AWS::SQS::Queue")
    for logical in queues:
        properties = template.resolve(template.properties(logical)) or {}
        attributes = {key: str(properties[key]) for key in QUEUE_ATTRIBUTES if properties.get(key) is not None}
        name = _queue_name(template, logical)
        if str(properties.get("FifoQueue", "")).lower() == "true" or name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
            if str(properties.get("ContentBasedDeduplication", "")).lower() == "true":
                attributes["ContentBasedDeduplication"] = "true"
        if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
            raise ConfigurationError(
                f"{logical}: QueueName {name!r} is FIFO but does not end in .fifo, as SQS requires"
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        made.queue_urls[logical] = url
        made.queue_arns[logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    for logical in queues:  # redrive needs the DLQs' ARNs: a second pass
        raw = template.properties(logical).get("RedrivePolicy")
        if not isinstance(raw, dict):
            continue
        dlq = template.logical_id_of(raw.get("deadLetterTargetArn"))
        count = template.resolve(raw.get("maxReceiveCount"))
        target = made.queue_arns.get(dlq or "") or template.resolve(raw.get("deadLetterTargetArn"))
        if not target:
            continue
        if dlq:
            made.dlqs[dlq] = logical
        policy = codec.dumps({"deadLetterTargetArn": target, "maxReceiveCount": int(count or 5)})
        sqs.set_queue_attributes(QueueUrl=made.queue_urls[logical], Attributes={"RedrivePolicy": policy})
    for logical in template.of_type("AWS::S3::Bucket"):
        name = template.physical_name(logical) or f"{template.parameters.get('Stage', 'local')}-{logical.lower()}"
        s3 = clients("s3")
        try:
            s3.create_bucket(Bucket=name)
        except Exception as error:  # already there (an external engine that kept state)
            if "BucketAlready" not in type(error).__name__ and "BucketAlready" not in str(error):
                raise
        made.buckets[logical] = name
    for logical in template.of_type("AWS::DynamoDB::Table"):
        made.tables[logical] = _create_table(template, logical, clients("dynamodb"))
    return made


def _create_table(template: Template, logical: str, dynamodb: Any) -> str:
    properties = template.resolve(template.properties(logical)) or {}
    name = template.physical_name(logical) or f"{template.parameters.get('Stage', 'local')}-{logical}"
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
    }
    if properties.get("BillingMode") == "PAY_PER_REQUEST" or "ProvisionedThroughput" not in properties:
        arguments["BillingMode"] = "PAY_PER_REQUEST"
    else:
        arguments["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(key):
            arguments[key] = properties[key]
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(**arguments)
    return name
