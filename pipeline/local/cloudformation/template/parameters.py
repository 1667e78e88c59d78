"""Template parameters: types, defaults and constraints → the values ``Ref`` returns.

As on CloudFormation, every parameter value is a string; ``Ref`` of a ``Number`` gives
that string too (Batch, Lambda and Step Functions properties accept strings there), and
``Ref`` of ``CommaDelimitedList`` / ``List<...>`` gives a list of strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.local.cloudformation.template.errors import TemplateError


@dataclass(frozen=True)
class _Kind:
    """How a parameter type reads its value: one string or a comma-separated list,
    and whether each item must be a number."""

    is_list: bool = False
    numeric: bool = False


_EXACT_KINDS = {
    "String": _Kind(),
    "Number": _Kind(numeric=True),
    "CommaDelimitedList": _Kind(is_list=True),
    "List<Number>": _Kind(is_list=True, numeric=True),
}
_UNRESOLVABLE = re.compile(r"AWS::SSM::Parameter::Value<.+>")
_PATTERN_KINDS = (
    (re.compile(r"List<AWS::[A-Za-z0-9]+(::[A-Za-z0-9]+)+>"), _Kind(is_list=True)),
    (re.compile(r"AWS::[A-Za-z0-9]+(::[A-Za-z0-9]+)+"), _Kind()),
)


@dataclass(frozen=True)
class ResolvedParameters:
    """Effective parameter values (strings, defaults applied), what ``Ref`` returns for
    each, and the names declared ``NoEcho``."""

    values: dict[str, str]
    refs: dict[str, str | list[str]]
    no_echo: frozenset[str]


def as_string(value: Any) -> str:
    """A template scalar as CloudFormation writes it: ``true``/``false``, ``3``, ``0.25``;
    a list joined with commas."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(as_string(item) for item in value)
    return str(value)


def _kind(name: str, declared_type: Any) -> _Kind:
    if not isinstance(declared_type, str):
        raise TemplateError(f"Parameter {name} has no Type: add Type: String (or another type).")
    kind = _EXACT_KINDS.get(declared_type)
    if kind is not None:
        return kind
    if _UNRESOLVABLE.fullmatch(declared_type):
        raise TemplateError(
            f"Parameter {name} has type {declared_type}, which needs Systems Manager and cannot "
            "be resolved locally: use a String parameter instead."
        )
    for pattern, pattern_kind in _PATTERN_KINDS:
        if pattern.fullmatch(declared_type):
            return pattern_kind
    raise TemplateError(
        f"Parameter {name} has unknown type {declared_type}: use String, Number, "
        "CommaDelimitedList, List<Number> or an AWS-specific parameter type."
    )


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# Each check returns what the value must be, or None when the item passes.
_Check = Callable[[str, Any, _Kind], str | None]


def _check_number(item: str, _: Any, kind: _Kind) -> str | None:
    return "a number" if kind.numeric and _as_number(item) is None else None


def _check_allowed(item: str, allowed: Any, kind: _Kind) -> str | None:
    choices = [as_string(choice) for choice in allowed]
    if kind.numeric:
        ok = any(_as_number(choice) == _as_number(item) for choice in choices)
    else:
        ok = item in choices
    return None if ok else "one of " + ", ".join(choices)


def _check_pattern(item: str, pattern: Any, _: _Kind) -> str | None:
    return None if re.fullmatch(str(pattern), item) else f"a match for the pattern {pattern}"


def _check_min_length(item: str, limit: Any, _: _Kind) -> str | None:
    return f"at least {limit} characters long" if len(item) < int(limit) else None


def _check_max_length(item: str, limit: Any, _: _Kind) -> str | None:
    return f"at most {limit} characters long" if len(item) > int(limit) else None


def _check_min_value(item: str, limit: Any, _: _Kind) -> str | None:
    number = _as_number(item)
    return f"at least {as_string(limit)}" if number is not None and number < float(limit) else None


def _check_max_value(item: str, limit: Any, _: _Kind) -> str | None:
    number = _as_number(item)
    return f"at most {as_string(limit)}" if number is not None and number > float(limit) else None


# Constraint keyword → check, in the order they are reported (type first).
_CHECKS: tuple[tuple[str, _Check], ...] = (
    ("Type", _check_number),
    ("AllowedValues", _check_allowed),
    ("AllowedPattern", _check_pattern),
    ("MinLength", _check_min_length),
    ("MaxLength", _check_max_length),
    ("MinValue", _check_min_value),
    ("MaxValue", _check_max_value),
)


def _validate(name: str, declaration: Mapping[str, Any], items: list[str], kind: _Kind) -> None:
    secret = as_string(declaration.get("NoEcho", False)).lower() == "true"
    for item in items:
        for keyword, check in _CHECKS:
            if keyword not in declaration:
                continue
            expected = check(item, declaration[keyword], kind)
            if expected is None:
                continue
            shown = "****" if secret else (item or '""')
            hint = str(declaration.get("ConstraintDescription", "")).strip().rstrip(".")
            hint = f" ({hint})" if hint else ""
            raise TemplateError(f"Parameter {name} must be {expected}: got {shown}{hint}.")


def resolve_parameters(
    declarations: Mapping[str, Any], given: Mapping[str, Any]
) -> ResolvedParameters:
    """Apply defaults to ``given``, check every value against its declaration, and return
    the effective values; a bad value raises TemplateError naming the parameter."""
    unknown = sorted(set(given) - set(declarations))
    if unknown:
        raise TemplateError(
            f"Parameter {', '.join(unknown)} is not declared in the template: "
            "remove it or declare it."
        )
    values: dict[str, str] = {}
    refs: dict[str, str | list[str]] = {}
    no_echo: set[str] = set()
    for name, declaration in declarations.items():
        if not isinstance(declaration, Mapping):
            raise TemplateError(f"Parameter {name} must be a mapping with a Type.")
        kind = _kind(name, declaration.get("Type"))
        if name in given:
            value = as_string(given[name])
        elif "Default" in declaration:
            value = as_string(declaration["Default"])
        else:
            raise TemplateError(
                f"Parameter {name} has no Default and no value was given: pass {name}=VALUE."
            )
        items = [item.strip() for item in value.split(",")] if kind.is_list else [value]
        _validate(name, declaration, items, kind)
        values[name] = value
        refs[name] = items if kind.is_list else value
        if as_string(declaration.get("NoEcho", False)).lower() == "true":
            no_echo.add(name)
    return ResolvedParameters(values=values, refs=refs, no_echo=frozenset(no_echo))
