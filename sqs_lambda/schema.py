"""Argument schemas: a handler's signature and type hints turned into a msgspec validator.

Built lazily, on a job's first use, so that importing a function module stays cheap. A parameter
without a hint accepts any JSON value; a parameter named ``context`` is not an argument: the router
passes the envelope's context dict to it. ``**kwargs`` lets unknown arguments through. A parameter typed
with a Django model travels as the instance's primary key and is fetched again before the job runs (a
missing row is a ``Reject`` naming the model and the key); Django is never imported here.
"""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import msgspec.structs

from .errors import ConfigurationError, JobArgumentError
from .wire.codec import decode_hook

CONTEXT_PARAMETER = "context"


class ArgumentSchema:
    """What a job accepts. ``decoder`` validates JSON kwargs into a ``struct`` instance."""

    __slots__ = (
        "accepts_extra",
        "binds_more",
        "decoder",
        "fields",
        "is_async",
        "models",
        "positional",
        "struct",
        "wants_context",
    )

    def __init__(
        self,
        *,
        struct: type[msgspec.Struct],
        decoder: Any,
        fields: tuple[str, ...],
        positional: tuple[str, ...],
        wants_context: bool,
        accepts_extra: bool,
        is_async: bool,
        models: dict[str, type] | None = None,
    ) -> None:
        self.models = models or {}  # parameter -> Django model class
        self.struct = struct
        self.decoder = decoder
        self.fields = fields
        self.positional = positional
        self.wants_context = wants_context
        self.accepts_extra = accepts_extra
        self.is_async = is_async
        self.binds_more = bool(self.models) or wants_context  # bind() does more than as_kwargs()

    def convert(self, values: Mapping[str, Any]) -> Any:
        """Validate arguments that arrived as JSON values (peers' formats), exactly as decoding their
        JSON text would, without encoding them again first."""
        if self.accepts_extra:
            declared = msgspec.convert(values, self.struct, dec_hook=decode_hook)
            return {**values, **{name: getattr(declared, name) for name in self.fields}}
        return msgspec.convert(values, self.struct, dec_hook=decode_hook)

    def to_wire(self, kwargs: Mapping[str, Any], job: str) -> dict[str, Any]:
        """Model instances replaced by their primary keys (what travels). A value that is neither an
        instance of the parameter's model nor a valid primary key of it is refused now, at the call."""
        wired = dict(kwargs)
        for name, model in self.models.items():
            value = wired.get(name)
            if value is None:
                continue
            if isinstance(value, model):
                wired[name] = value.pk  # type: ignore[attr-defined]  # a Django model instance
            elif not _is_primary_key(model, value):
                raise JobArgumentError(
                    f"invalid arguments: {name!r} must be an instance of {model.__name__} "
                    f"or its primary key, got {value!r}",
                    job=job,
                )
        return wired

    def load_models(self, kwargs: dict[str, Any], job: str) -> dict[str, Any]:
        """Primary keys replaced by their rows, fetched again; a missing row, or a value that is no primary
        key of the model, is a ``Reject`` naming the job (to the DLQ, never retried)."""
        from .errors import Reject

        for name, model in self.models.items():
            key = kwargs.get(name)
            if key is None or isinstance(key, model):
                continue
            if not _is_primary_key(model, key):
                raise Reject(f"job {job!r}: {key!r} is not a primary key of {model.__name__}", job=job)
            try:
                kwargs[name] = model._default_manager.get(pk=key)  # type: ignore[attr-defined]
            except model.DoesNotExist:  # type: ignore[attr-defined]
                raise Reject(
                    f"job {job!r}: {model.__name__} with primary key {key!r} does not exist", job=job
                ) from None
        return kwargs

    def bind(self, values: Any, context: Mapping[str, Any] | None, job: str) -> dict[str, Any]:
        """The handler's keyword arguments from validated ``values``: model rows fetched again (see
        :meth:`load_models`) and, when the handler takes one, a copy of the ``context`` dict."""
        kwargs = self.as_kwargs(values)
        if self.models:
            kwargs = self.load_models(kwargs, job)
        if self.wants_context:
            kwargs[CONTEXT_PARAMETER] = dict(context or {})
        return kwargs

    def as_kwargs(self, values: Any) -> dict[str, Any]:
        """The decoded struct as keyword arguments for the handler."""
        if self.accepts_extra:
            return dict(values)
        return msgspec.structs.asdict(values)


def build_schema(name: str, function: Callable[..., Any]) -> ArgumentSchema:
    """Build the schema for ``function``; raise ConfigurationError for signatures a job cannot have."""
    signature = inspect.signature(function)
    try:
        hints = typing.get_type_hints(function)
    except Exception as error:  # an unresolvable forward reference: say which job
        raise ConfigurationError(f"job {name!r}: cannot resolve type hints: {error}") from error
    fields: list[tuple[Any, ...]] = []
    names: list[str] = []
    positional: list[str] = []
    wants_context = accepts_extra = False
    models: dict[str, type] = {}
    for parameter in signature.parameters.values():
        if parameter.name == CONTEXT_PARAMETER:
            wants_context = True
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            accepts_extra = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            raise ConfigurationError(f"job {name!r}: *args cannot be sent as JSON kwargs; name the parameters")
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"job {name!r}: positional-only parameter {parameter.name!r} cannot be passed by keyword"
            )
        hint = hints.get(parameter.name, Any)
        if _is_model(hint):
            models[parameter.name] = hint
            hint = Any  # the primary key
        if parameter.default is inspect.Parameter.empty:
            fields.append((parameter.name, hint))
        else:
            fields.append((parameter.name, hint, parameter.default))
        names.append(parameter.name)
        positional.append(parameter.name)
    struct: type[msgspec.Struct]
    if accepts_extra:
        # Declared names are validated; the rest pass through as they came.
        struct = msgspec.defstruct(f"{name}_args", fields, kw_only=True)
        declared = msgspec.json.Decoder(struct, dec_hook=decode_hook)
        decoder: Any = _ExtraDecoder(declared, tuple(names))
    else:
        struct = msgspec.defstruct(f"{name}_args", fields, kw_only=True, forbid_unknown_fields=True)
        decoder = msgspec.json.Decoder(struct, dec_hook=decode_hook)
    return ArgumentSchema(
        struct=struct,
        decoder=decoder,
        fields=tuple(names),
        positional=tuple(positional),
        wants_context=wants_context,
        accepts_extra=accepts_extra,
        is_async=inspect.iscoroutinefunction(function),
        models=models,
    )


def _is_primary_key(model: Any, value: Any) -> bool:
    """``value`` passes the model's primary-key field's own conversion (Django's ``to_python``)."""
    if isinstance(value, bool) or not isinstance(value, str | int | uuid.UUID):
        return False
    try:
        model._meta.pk.to_python(value)
    except Exception:  # Django's ValidationError (Django is not imported here)
        return False
    return True


def _is_model(hint: Any) -> bool:
    """A Django model class (recognised by its shape: Django is not imported)."""
    return isinstance(hint, type) and all(hasattr(hint, a) for a in ("_meta", "_default_manager", "DoesNotExist"))


class _ExtraDecoder:
    """Decoder for handlers with ``**kwargs``: validate the declared names, keep the others."""

    def __init__(self, declared: msgspec.json.Decoder[Any], names: tuple[str, ...]) -> None:
        self._declared = declared
        self._names = names
        self._any = msgspec.json.Decoder(dict[str, Any])

    def decode(self, data: bytes | str) -> dict[str, Any]:
        everything = self._any.decode(data)
        validated = self._declared.decode(data)
        everything.update({name: getattr(validated, name) for name in self._names})
        return everything
