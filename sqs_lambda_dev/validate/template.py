"""Reading a SAM template: load it (intrinsic tags included), translate it offline to CloudFormation,
and resolve the values our tools need (queues, mappings, functions, rules).

Used by ``sqs-lambda validate`` and ``sqs-lambda local``. The translation follows AWS's own
translator (``aws-sam-translator``) with an offline boto3 session and an empty managed-policy map;
local ``CodeUri`` values are replaced by an ``s3://`` placeholder first and kept aside.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda.errors import ConfigurationError

PLACEHOLDER_CODE = "s3://sqs-lambda-placeholder/code.zip"
ACCOUNT = "123456789012"
ATTRIBUTES = {  # the attributes resolved offline, per resource type
    "AWS::SQS::Queue": ("Arn", "QueueName", "QueueUrl"),
    "AWS::Events::Rule": ("Arn",),
    "AWS::S3::Bucket": ("Arn",),
    "AWS::DynamoDB::Table": ("Arn",),
}


@dataclass
class Template:
    """A SAM template, its CloudFormation translation, and where its functions' code lives."""

    path: Path
    sam: dict[str, Any]
    cfn: dict[str, Any]
    parameters: dict[str, Any]
    code_uris: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    _known_cache: dict[tuple[tuple[str, str], ...], dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.cfn.get("Resources", {}))

    def event_source_mappings(self) -> list[tuple[str, dict[str, Any], str | None, str | None]]:
        """Each event source mapping: its logical id, its properties, and the logical ids of the queue
        (or other source) it reads and the function it invokes (None where they are not resources)."""
        found = []
        for name, resource in self.of_type("AWS::Lambda::EventSourceMapping").items():
            properties = resource.get("Properties", {})
            source = self.logical_id_of(properties.get("EventSourceArn"))
            found.append((name, properties, source, self.function_of(properties.get("FunctionName"))))
        return found

    def function_of(self, reference: Any) -> str | None:
        """The function a FunctionName reference names: through an alias (``AutoPublishAlias``) too."""
        logical = self.logical_id_of(reference)
        target = self.resources.get(logical or "", {})
        if target.get("Type") == "AWS::Lambda::Alias":
            return self.logical_id_of((target.get("Properties") or {}).get("FunctionName"))
        return logical

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r.get("Type") == kind}

    def properties(self, name: str) -> dict[str, Any]:
        return dict(self.resources.get(name, {}).get("Properties", {}) or {})

    # -- values ------------------------------------------------------------------------------------

    def resolve(self, value: Any, names: dict[str, str] | None = None) -> Any:
        """Resolve intrinsic functions as far as can be done offline; unresolvable values come back None.

        ``names`` maps logical ids to the physical values a bare ``Ref`` stands for here (e.g. local queue
        URLs). ``Ref``, ``Fn::Sub`` and ``Fn::FindInMap`` go through aws-sam-translator's own resolver;
        ``Fn::GetAtt`` (the attributes our tools need), ``Fn::Join``, ``Fn::If``, ``Fn::Select`` and
        ``Fn::Split`` are finished here.
        """

        return self._resolve(value, self._known(names), names)

    def _resolve(self, value: Any, known: dict[str, Any], names: dict[str, str] | None) -> Any:
        from samtranslator.intrinsics.actions import FindInMapAction
        from samtranslator.intrinsics.resolver import IntrinsicsResolver

        resolved = IntrinsicsResolver(known).resolve_parameter_refs(copy.deepcopy(value))
        mappings = IntrinsicsResolver(self.cfn.get("Mappings") or {}, {"Fn::FindInMap": FindInMapAction()})
        return self._finish(mappings.resolve_parameter_refs(resolved), names)

    def _base(self) -> dict[str, Any]:
        """Parameters and pseudo parameters: enough for names (a queue's name is a ``!Sub`` of the stage)."""
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": f"sqs-lambda-{self.parameters.get('Stage', 'local')}",
            "AWS::URLSuffix": "amazonaws.com",
            **self.parameters,
        }

    def _known(self, names: dict[str, str] | None) -> dict[str, Any]:
        """What a ``Ref`` or ``${...}`` can stand for: parameters, pseudo parameters, resources and their
        attributes (``Queue.Arn``); built once per ``names``."""
        key = tuple(sorted((names or {}).items()))
        cached = self._known_cache.get(key)
        if cached is not None:
            return cached
        known = self._base()
        for logical in self.resources:
            value = (names or {}).get(logical) or self.physical_name(logical)
            if value is not None:
                known[logical] = value
            for attribute in ATTRIBUTES.get(self.resources[logical].get("Type", ""), ()):
                resolved = self.attribute(logical, attribute, names)
                if resolved is not None:
                    known[f"{logical}.{attribute}"] = resolved
        known.update(self.parameters)
        self._known_cache[key] = known
        return known

    def _finish(self, value: Any, names: dict[str, str] | None) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::Sub":
                return _substituted(argument)
            if key == "Fn::GetAtt":
                resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(resource, attribute, names)
            if key == "Fn::Join":
                parts = [self._finish(p, names) for p in argument[1]]
                return None if any(p is None for p in parts) else str(argument[0]).join(map(str, parts))
            if key == "Fn::If":
                condition, yes, no = argument
                return self._finish(yes if self.condition(condition) else no, names)
            if key == "Fn::Select":
                index, items = argument
                items = self._finish(items, names)
                return items[int(index)] if isinstance(items, list) else None
            if key == "Fn::Split":
                text = self._finish(argument[1], names)
                return text.split(argument[0]) if isinstance(text, str) else None
            if key == "Ref" or key.startswith("Fn::"):
                return None  # AWS::NoValue, an unknown name, or a function that needs AWS
        if isinstance(value, list):
            return [self._finish(v, names) for v in value]
        if isinstance(value, dict):
            return {k: self._finish(v, names) for k, v in value.items()}
        return value

    def condition(self, name: str) -> bool:
        spec = self.cfn.get("Conditions", {}).get(name)
        return bool(self._evaluate(spec))

    def _evaluate(self, spec: Any) -> Any:
        if isinstance(spec, dict) and len(spec) == 1:
            ((key, argument),) = spec.items()
            if key == "Fn::Equals":
                return self._evaluate(argument[0]) == self._evaluate(argument[1])
            if key == "Fn::Not":
                return not self._evaluate(argument[0])
            if key == "Fn::And":
                return all(self._evaluate(a) for a in argument)
            if key == "Fn::Or":
                return any(self._evaluate(a) for a in argument)
            if key == "Condition":
                return self.condition(argument)
        return self.resolve(spec)

    def physical_name(self, name: str) -> str | None:
        """The name a resource gets (its name property, resolved) or None if CloudFormation would pick it."""
        resource = self.resources.get(name, {})
        properties = resource.get("Properties", {}) or {}
        key = {
            "AWS::SQS::Queue": "QueueName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::Events::Rule": "Name",
        }.get(resource.get("Type", ""))
        if key and key in properties:
            value = self._resolve(properties[key], self._base(), None)
            return str(value) if value is not None else None
        return None

    def attribute(self, name: str, attribute: str, names: dict[str, str] | None = None) -> Any:
        kind = self.resources.get(name, {}).get("Type")
        physical = self.physical_name(name) or name
        if kind == "AWS::SQS::Queue":
            if attribute == "Arn":
                return f"arn:aws:sqs:{self.region}:{ACCOUNT}:{physical}"
            if attribute == "QueueName":
                return physical
            if attribute == "QueueUrl":
                return (names or {}).get(name)
        if kind == "AWS::Events::Rule" and attribute == "Arn":
            return f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{physical}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{physical}"
        return None

    def logical_id_of(self, value: Any) -> str | None:
        """The logical id a Ref/GetAtt points to (e.g. an EventSourceArn), if any."""
        if isinstance(value, dict):
            if "Ref" in value:
                return str(value["Ref"])
            if "Fn::GetAtt" in value:
                argument = value["Fn::GetAtt"]
                return str(argument[0] if isinstance(argument, list) else argument.split(".")[0])
        if isinstance(value, str) and value.startswith("arn:aws:sqs:"):
            name = value.rsplit(":", 1)[-1]
            for logical, _ in self.of_type("AWS::SQS::Queue").items():
                if self.physical_name(logical) == name:
                    return logical
        return None


def _load_yaml(path: Path) -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, matches = decode_str(path.read_text())
    if matches or not isinstance(template, dict):
        problems = "; ".join(str(m.message) for m in matches) or "not a mapping"
        raise ConfigurationError(f"{path}: cannot read the template: {problems}")
    return _plain(template)


def _plain(value: Any) -> Any:
    """cfn-lint's node types as plain dicts, lists and strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def parameter_values(sam: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template's parameter values: defaults, then ``overrides``, each of which it must declare."""
    values = {name: spec.get("Default") for name, spec in (sam.get("Parameters") or {}).items()}
    unknown = sorted(set(overrides or {}) - set(values))
    if unknown:
        declared = ", ".join(sorted(values)) or "none"
        raise ConfigurationError(
            f"--parameter {unknown[0]}: the template declares no such parameter (it has: {declared})"
        )
    values.update(overrides or {})
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ConfigurationError(f"parameters without a default need a value: {', '.join(missing)}")
    return values


def load(
    path: str | Path, *, parameters: dict[str, Any] | None = None, stage: str | None = None, region: str = "us-east-1"
) -> Template:
    """Load and translate a SAM template offline. ``stage`` sets the ``Stage`` parameter where the template
    declares one, and is only recorded where it does not (queue names then carry no prefix)."""
    path = Path(path)
    if not path.exists():
        raise ConfigurationError(f"{path}: no such template")
    sam = _load_yaml(path)
    declares_stage = "Stage" in (sam.get("Parameters") or {})
    values = parameter_values(sam, {**(parameters or {}), **({"Stage": stage} if stage and declares_stage else {})})
    prepared = copy.deepcopy(sam)
    code_uris: dict[str, str] = {}
    globals_code = ((prepared.get("Globals") or {}).get("Function") or {}).get("CodeUri")
    for name, resource in (prepared.get("Resources") or {}).items():
        kind = resource.get("Type")
        properties = resource.setdefault("Properties", {}) or {}
        key = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}.get(kind)
        if key is None:
            continue
        uri = properties.get(key, globals_code if kind == "AWS::Serverless::Function" else None)
        if isinstance(uri, str) and not uri.startswith("s3://"):
            code_uris[name] = str((path.parent / uri).resolve())
            properties[key] = PLACEHOLDER_CODE
        elif uri is None and kind == "AWS::Serverless::Function" and "InlineCode" not in properties:
            code_uris[name] = str(path.parent.resolve())
            properties[key] = PLACEHOLDER_CODE
    if (prepared.get("Globals") or {}).get("Function", {}).get("CodeUri"):
        prepared["Globals"]["Function"]["CodeUri"] = PLACEHOLDER_CODE
    cfn = translate(prepared, values, region)
    recorded = values if declares_stage or not stage else {**values, "Stage": stage}
    return Template(path=path, sam=sam, cfn=cfn, parameters=recorded, code_uris=code_uris, region=region)


def translate(sam: dict[str, Any], parameters: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    """SAM → CloudFormation with aws-sam-translator, offline."""
    if "AWS::Serverless-2016-10-31" not in str(sam.get("Transform", "")):
        return sam
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)  # no CloudWatch here: nothing to publish

    translator = Translator(
        managed_policy_map={}, sam_parser=Parser(), boto_session=boto3.session.Session(region_name=region)
    )
    try:
        return dict(
            translator.translate(sam_template=sam, parameter_values=dict(parameters), get_managed_policy_map=lambda: {})
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause) for cause in error.causes)
        raise ConfigurationError(f"SAM cannot translate this template: {causes}") from None


def _substituted(argument: Any) -> str | None:
    """What is left of an ``Fn::Sub`` after the resolver: its text, if every ``${...}`` was replaced."""
    import re

    text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    if not isinstance(text, str) or not isinstance(variables, dict):
        return None
    for name, variable in variables.items():
        if not isinstance(variable, str | int | float):
            return None
        text = text.replace("${" + name + "}", str(variable))
    if re.search(r"\$\{[^!]", text):
        return None
    return text.replace("${!", "${")
