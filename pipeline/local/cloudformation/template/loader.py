"""Template bodies (YAML with CloudFormation's short tags, or JSON) → plain dicts with
long-form intrinsics, as CloudFormation itself reads them."""

from __future__ import annotations

import json
from typing import Any

import yaml

from pipeline.local.cloudformation.template.errors import TemplateError

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TemplateLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that reads ``!Tag`` nodes as long-form intrinsics, keeps timestamps
    (``AWSTemplateFormatVersion: 2010-09-09``) as strings and rejects duplicate keys."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return _mapping(loader, node)


def _getatt(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    """``!GetAtt Res.Attr`` (split at the first dot: ``Db.Endpoint.Address``) or the list form."""
    value = _construct_node(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return [resource, attribute]
    return value


# Short tag → (long name, argument constructor); any other ``!X`` becomes ``Fn::X``.
_SPECIAL_TAGS = {
    "Ref": ("Ref", _construct_node),
    "Condition": ("Condition", _construct_node),
    "GetAtt": ("Fn::GetAtt", _getatt),
}


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name, construct = _SPECIAL_TAGS.get(suffix, (f"Fn::{suffix}", _construct_node))
    return {name: construct(loader, node)}


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            line = key_node.start_mark.line + 1
            raise TemplateError(
                f"Template has the key {key} twice in one mapping (line {line}): "
                "remove or rename one of them."
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _timestamp_as_string(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_TemplateLoader.add_multi_constructor("!", _intrinsic)
_TemplateLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_string)


def load_template(body: str) -> dict[str, Any]:
    """Parse a CloudFormation template body (YAML with short tags such as ``!Ref``,
    ``!Sub``, ``!GetAtt A.B``, ``!If``, ``!Select`` ...; or JSON) into plain dicts with
    long-form intrinsics (``{"Fn::Sub": ...}``)."""
    try:
        if body.lstrip().startswith("{"):
            template = json.loads(body)
        else:
            template = yaml.load(body, Loader=_TemplateLoader)
    except json.JSONDecodeError as error:
        raise TemplateError(
            f"Template is not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}."
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise TemplateError(f"Template is not valid YAML{where}: {problem}.") from error
    if not isinstance(template, dict):
        raise TemplateError("Template must be a mapping with a Resources section at the top.")
    return template
