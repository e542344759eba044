"""Payloads over the SQS limit: S3 pointers in the format of AWS's extended clients.

The format is the one ``amazon-sqs-extended-client`` (Python) and the Java Extended Client Library
write, so producers in other languages interoperate:

- the body is ``["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": B, "s3Key": K}]``
  (older Java clients: ``com.amazon.sqs.javamessaging.MessageS3Pointer``);
- the ``ExtendedPayloadSize`` message attribute (older: ``SQSLargePayloadSize``) holds the real body's
  size in bytes;
- the object at ``s3://B/K`` is the real body.

This module is the pointer format and the S3 calls; it is imported only when a message is too large
to send inline, or when a record's body is a pointer. boto3's S3 client loads on that first use.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from .. import aws, settings
from ..errors import MessageError

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
LEGACY_POINTER_CLASS = "com.amazon.sqs.javamessaging.MessageS3Pointer"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"
LEGACY_SIZE_ATTRIBUTE = "SQSLargePayloadSize"
BUCKET_VARIABLE = settings.PAYLOAD_BUCKET
POINTER_PREFIXES = (f'["{POINTER_CLASS}"', f'["{LEGACY_POINTER_CLASS}"')


class PayloadUnavailableError(MessageError):
    """The pointer's object cannot be read now (missing, or access denied): retried, since a later read
    may succeed (the object is still being written, or a policy is being fixed)."""

    retryable = True


class UnknownPayloadBucketError(MessageError):
    """A pointer to a bucket this router was not told about: never read, sent to the DLQ."""


@dataclass(frozen=True)
class Pointer:
    bucket: str
    key: str

    def body(self) -> str:
        return json.dumps([POINTER_CLASS, {"s3BucketName": self.bucket, "s3Key": self.key}], separators=(",", ":"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_pointer(body: Any) -> bool:
    """A cheap test, for the per-record path: does the body start like a pointer?"""
    return body.__class__ is str and body.startswith(POINTER_PREFIXES)


def pointer_of(body: str, message_id: str | None = None) -> Pointer:
    """The pointer in a body that :func:`is_pointer` accepted."""
    try:
        kind, location = json.loads(body)
        bucket, key = location["s3BucketName"], location["s3Key"]
    except (ValueError, TypeError, KeyError) as error:
        from ..errors import DecodeError

        raise DecodeError(f"a malformed extended-client pointer: {error}", message_id=message_id) from None
    if kind not in (POINTER_CLASS, LEGACY_POINTER_CLASS) or not isinstance(bucket, str) or not isinstance(key, str):
        from ..errors import DecodeError

        raise DecodeError("a malformed extended-client pointer", message_id=message_id)
    return Pointer(bucket, key)


def known_buckets(configured: tuple[str, ...]) -> tuple[str, ...]:
    """The buckets a router reads pointers from: those it was given, and ``$SQS_LAMBDA_PAYLOAD_BUCKET``."""
    from_environment = settings.current().payload_bucket
    return (*configured, from_environment) if from_environment else configured


def fetch(pointer: Pointer, allowed: tuple[str, ...] | None, message_id: str | None = None, s3: Any = None) -> str:
    """The real body. An unknown bucket is rejected (``allowed=None``: any bucket); a missing or
    unreadable object is retried. ``s3``: a client of the caller's (default: the lazily built one)."""
    if allowed is not None and pointer.bucket not in allowed:
        raise UnknownPayloadBucketError(
            f"the body points to s3://{pointer.bucket}, a bucket this router was not told about "
            f"(known: {', '.join(allowed) or 'none'}; set payload_buckets= or {BUCKET_VARIABLE})",
            message_id=message_id,
        )
    try:
        data = (s3 or aws.client("s3")).get_object(Bucket=pointer.bucket, Key=pointer.key)["Body"].read()
    except Exception as error:
        code = aws.error_code(error)
        reason = f"cannot read the payload at {pointer} ({code or type(error).__name__}): retried"
        raise PayloadUnavailableError(reason, message_id=message_id) from None
    return bytes(data).decode("utf-8")


def store(body: bytes, bucket: str) -> Pointer:
    """Put a body in S3 under a random key, encrypted at rest (SSE-S3), and point to it."""
    pointer = Pointer(bucket, str(uuid.uuid4()))
    aws.client("s3").put_object(Bucket=bucket, Key=pointer.key, Body=body, ServerSideEncryption="AES256")
    return pointer


def delete(pointers: list[Pointer]) -> None:
    """Delete objects whose jobs succeeded (what cannot be deleted expires by the bucket's lifecycle)."""
    by_bucket: dict[str, list[str]] = {}
    for pointer in pointers:
        by_bucket.setdefault(pointer.bucket, []).append(pointer.key)
    s3 = aws.client("s3")
    for bucket, keys in by_bucket.items():
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start : start + 1000]]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})


def delete_quietly(pointers: list[Pointer]) -> None:
    """:func:`delete`, logging a failure instead of raising: no record fails over its payload's cleanup."""
    try:
        delete(pointers)
    except Exception as error:
        from .. import observe

        observe.log_loudly("payloads of succeeded jobs could not be deleted", error_message=str(error)[:500])


def offload_if_large(body: str, limit: int) -> tuple[str, dict[str, dict[str, str]]]:
    """``(body, attributes)`` to send: the body itself, or (over ``limit``, with a bucket configured) its
    pointer and size attribute. Without a bucket the body is returned and SQS will refuse it, loudly."""
    data = body.encode()
    bucket = settings.current().payload_bucket
    if len(data) <= limit - 1024 or not bucket:  # room for the attributes
        return body, {}
    return store(data, bucket).body(), size_attribute(len(data))


def size_attribute(size: int) -> dict[str, dict[str, str]]:
    return {SIZE_ATTRIBUTE: {"DataType": "Number", "StringValue": str(size)}}
