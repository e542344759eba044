"""Dispatch: one SQS record becomes a :class:`Call` (decoded, verified, routed, validated).

:meth:`Dispatcher.prepare` returns the call, or raises a :class:`~sqs_lambda.errors.MessageError` that
says why the record cannot be called (undecodable, unsigned, unknown job, bad arguments, no route).
Only our envelope is read unless the router accepts peers' formats (:mod:`sqs_lambda.wire.peers`).
Nothing here runs a job (:mod:`.invoke` does) or decides a failure's fate (:mod:`.policy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .. import otel
from ..call import Call
from ..errors import JobArgumentError, NoRouteError, PickleRejectedError, UnknownJobError
from ..wire import envelope as wire

if TYPE_CHECKING:
    from ..jobs import Job
    from ..registry import Registry


class Dispatcher:
    """Turns records into calls for the jobs and raw routes of ``registry``."""

    __slots__ = ("accept", "aliases", "jobs", "payload_buckets", "plain", "registry", "signing_key")

    def __init__(
        self,
        registry: Registry,
        *,
        accept: Sequence[str] = ("sqs_lambda",),
        aliases: Mapping[str, str] | None = None,
        signing_key: Any = None,
        payload_buckets: Sequence[str] = (),
    ) -> None:
        self.registry = registry
        self.payload_buckets = tuple(payload_buckets)
        self.jobs = registry.jobs  # the registry's own dict (kept, not copied): jobs registered later count
        self.accept = tuple(accept)
        self.plain = self.accept == ("sqs_lambda",)  # only our envelope: the fast path
        self.aliases = dict(aliases or {})
        self.signing_key = signing_key

    def prepare(self, record: Mapping[str, Any], message_id: str | None = None) -> Call:
        """Decode, route and validate one SQS record. Raises MessageError with the reason.

        A body that is an S3 pointer (AWS's extended-client format) is fetched first, and decoded as if it
        had come inline; the call keeps the pointer."""
        if self.plain:
            decoded = wire.decode(record.get("body"), message_id=message_id)
            if decoded.__class__ is wire.Envelope:  # the common case: nothing else to look at
                return self.call_for(decoded, message_id)
            if decoded.value.__class__ is list and self._is_pointer(record):  # type: ignore[union-attr]
                return self._resolved(record, message_id)
        else:
            if self._is_pointer(record):  # before peers read it: theirs may carry pointers too
                return self._resolved(record, message_id)
            from ..wire import peers

            found = peers.decode_any(self.accept, record, message_id)
            if isinstance(found, peers.ForeignJob):
                return self._foreign_call(found, message_id)
            decoded = found
        if decoded.__class__ is wire.Envelope:
            return self.call_for(decoded, message_id)
        return self.raw_call(decoded, message_id)  # type: ignore[arg-type]

    @staticmethod
    def _is_pointer(record: Mapping[str, Any]) -> bool:
        body = record.get("body")
        if body.__class__ is not str or not body.startswith('["'):  # a pointer's shape; envelopes start with {
            return False
        from ..wire import payloads

        return payloads.is_pointer(body)

    def _resolved(self, record: Mapping[str, Any], message_id: str | None) -> Call:
        """The call for a record whose body is an S3 pointer: the body fetched, decoded as if inline."""
        from ..wire import payloads

        pointer = payloads.pointer_of(record["body"], message_id)
        with otel.child("s3 get payload", **{"aws.s3.bucket": pointer.bucket, "aws.s3.key": pointer.key}):
            resolved = payloads.fetch(pointer, payloads.known_buckets(self.payload_buckets), message_id)
        call = self.prepare({**record, "body": resolved}, message_id)
        call.payload = pointer
        return call

    def call_for(self, envelope: wire.Envelope, message_id: str | None) -> Call:
        """A call for one of our envelopes (its signature checked when the router signs)."""
        if self.signing_key is not None:
            from ..wire.signing import verify

            verify(self.signing_key, envelope, message_id)
        job = self.jobs.get(envelope.job) or self._unknown(envelope.job, message_id)
        return self._call(job, envelope, wire.decode_arguments(envelope, job.schema.decoder, message_id=message_id))

    def _foreign_call(self, found: Any, message_id: str | None) -> Call:
        """A call for a peer's message (no signature: peers' formats carry none)."""
        from ..wire import peers

        jobs = self.jobs
        known = jobs.get(self.aliases.get(found.job, found.job))
        positional = known.schema.positional if known is not None else ()
        envelope, kwargs = peers.to_envelope(found, positional, self.aliases, list(jobs), message_id)
        job = jobs.get(envelope.job) or self._unknown(envelope.job, message_id)
        try:
            values = job.schema.convert(kwargs)
        except Exception as error:  # msgspec's ValidationError, or a model's own
            raise JobArgumentError(f"invalid arguments: {error}", message_id=message_id, job=job.name) from None
        return self._call(job, envelope, values)

    def _unknown(self, name: str, message_id: str | None) -> NoReturn:
        raise UnknownJobError(unknown_job_reason(name, self.jobs), message_id=message_id, job=name)

    def _call(self, job: Job, envelope: wire.Envelope, values: Any) -> Call:
        schema = job.schema
        # the common case (no model, no context parameter) skips bind's call: this runs once per record
        kwargs = schema.bind(values, envelope.context, job.name) if schema.binds_more else schema.as_kwargs(values)
        return Call(job.name, job.function, (), kwargs, envelope.context, schema.is_async, job.policy, envelope)

    def raw_call(self, body: wire.RawBody, message_id: str | None) -> Call:
        """A call for a body that is not an envelope: the first raw route that matches it."""
        for route in self.registry.raw_routes:
            if route.matches(body.value, body.is_json):
                name = f"raw:{route.name}"
                policy = self.registry.default_policy
                return Call(name, route.handler, (body.value,), is_async=route.is_async, policy=policy)
        if not body.is_json:
            from ..wire.peers import looks_like_pickle

            if looks_like_pickle(str(body.value)):
                raise PickleRejectedError("the body is a pickle payload: it is never unpickled", message_id=message_id)
            raise NoRouteError("the body is not JSON and no raw route accepts text", message_id=message_id)
        kind = (
            "an EventBridge event"
            if isinstance(body.value, dict) and "detail-type" in body.value
            else "JSON that is not an sqs-lambda envelope"
        )
        raise NoRouteError(f"the body is {kind} and no raw route matches it", message_id=message_id)

    def hop_signer(self) -> Callable[[bytes], str] | None:
        """What re-signs a long delay's next hop (a signing router's newest key), or None."""
        if self.signing_key is None:
            return None
        from ..wire.signing import signer_for

        return signer_for(self.signing_key)


def unknown_job_reason(name: str, known: Mapping[str, Any] | Sequence[str] | set[str]) -> str:
    """Why ``name`` is not a registered job: the ``known`` names, and the nearest one to a typo."""
    import difflib  # only on this error path

    names = sorted(known)
    reason = f"no job named {name!r} is registered (known: {', '.join(names) or 'none'})"
    nearest = difflib.get_close_matches(name, names, n=1)
    return f"{reason}; did you mean {nearest[0]!r}?" if nearest else f"{reason}."
