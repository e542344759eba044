"""The send form of a job, built from its type hints, and the form's answer turned into checked kwargs.

A field is a number, a checkbox, a line of text, or JSON (lists, dicts, structs, unions...). The
kwargs are validated by the job's own schema (what its consumer will do) before anything is sent; an
error names the field it belongs to, so the page shows it next to that field.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from sqs_lambda.errors import JobArgumentError


@dataclass
class Field:
    name: str
    kind: str  # int | float | bool | str | json
    required: bool
    default: str  # as the input shows it
    type_name: str


def _kind(hint: Any) -> str:
    arguments = [argument for argument in typing.get_args(hint) if argument is not type(None)]
    if len(arguments) == 1 and len(typing.get_args(hint)) == 2:  # X | None: X's input, empty for None
        hint = arguments[0]
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is float:
        return "float"
    if hint is str:
        return "str"
    return "json"


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def fields_of(job: Any) -> list[Field]:
    """The form's fields for a registered job (its ``schema``'s declared parameters), or the ones a probe
    read for it (:mod:`.probe`)."""
    if isinstance(getattr(job, "fields", None), list):
        return [Field(**field) for field in job.fields]
    found = []
    for info in msgspec.structs.fields(job.schema.struct):
        kind = _kind(info.type)
        default = "" if info.required else info.default
        if info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        if kind == "json" and not info.required:
            shown = "" if default is None else json.dumps(default)
        elif kind == "bool":
            shown = "true" if default else ""
        else:
            shown = "" if default in ("", None) else str(default)
        found.append(Field(info.name, kind, info.required, shown, _type_name(info.type)))
    return found


class FormErrors(Exception):
    """The form's errors, by field name ("" for the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in errors.items()))
        self.errors = errors


_PATH = re.compile(r"at `\$\.(\w+)|field `(\w+)`")  # msgspec names the field one of these two ways


def kwargs_from_form(job: Any, form: Mapping[str, str]) -> dict[str, Any]:
    """Turn the form's strings into kwargs and validate them as the job's consumer would. Raises
    :class:`FormErrors`."""
    kwargs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields_of(job):
        raw = form.get(field.name, "")
        if field.kind == "bool":
            kwargs[field.name] = raw in ("on", "true", "1")
            continue
        if raw == "" and not field.required:
            continue  # the job's default applies
        if field.kind == "str":
            kwargs[field.name] = raw
            continue
        try:
            kwargs[field.name] = json.loads(raw)
        except ValueError:
            if field.kind == "json":
                errors[field.name] = "not valid JSON"
            else:
                kwargs[field.name] = raw  # the schema says what is wrong with it
    if errors:
        raise FormErrors(errors)
    try:
        job.validate(kwargs)
    except (JobArgumentError, TypeError, ValueError) as error:
        message = str(error)
        match = _PATH.search(message)
        raise FormErrors({(match.group(1) or match.group(2)) if match else "": message}) from None
    return kwargs


def kwargs_from_json(job: Any, text: str) -> dict[str, Any]:
    """Edited kwargs (a JSON object), validated against the job's signature. Raises :class:`FormErrors`."""
    try:
        kwargs = json.loads(text)
    except ValueError as error:
        raise FormErrors({"kwargs": f"not valid JSON: {error}"}) from None
    if not isinstance(kwargs, dict):
        raise FormErrors({"kwargs": "the arguments must be a JSON object"})
    if job is not None:
        try:
            job.validate(kwargs)
        except (JobArgumentError, TypeError, ValueError) as error:
            raise FormErrors({"kwargs": str(error)}) from None
    return kwargs
