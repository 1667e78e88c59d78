"""Conversions between CloudFormation / Step Functions spellings and the AWS API's own
member names, guided by botocore's service models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS = {
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
}


def _scalar(value: Any, type_name: str) -> Any:
    if isinstance(value, str) and type_name in _SCALARS:
        try:
            return _SCALARS[type_name](value)
        except ValueError:
            return value
    if isinstance(value, str) and type_name == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, bool) and type_name == "string":
        return "true" if value else "false"
    if isinstance(value, int | float) and type_name == "string":
        return str(value)
    return value


def to_api(value: Any, shape: Any) -> Any:
    """``value`` with PascalCase keys renamed to the shape's members (case-insensitively)
    and string scalars coerced to the shape's numbers and booleans (as CloudFormation does)."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = {name.lower(): name for name in shape.members}
        converted = {}
        for key, item in value.items():
            name = members.get(str(key).lower(), key)
            converted[name] = to_api(item, shape.members.get(name))
        return converted
    if shape.type_name == "list" and isinstance(value, list):
        return [to_api(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {key: to_api(item, shape.value) for key, item in value.items()}
    return _scalar(value, shape.type_name)


def pascal(value: Any) -> Any:
    """``value`` with every key's first letter upper-cased (Step Functions' SDK outputs)."""
    if isinstance(value, Mapping):
        return {key[:1].upper() + key[1:]: pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal(item) for item in value]
    return value
