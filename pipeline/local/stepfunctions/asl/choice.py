"""Choice rules: the comparison operators by name, And/Or/Not, and their checks.

A comparison between values of the wrong type is false, never an error, as on AWS; a
``Variable`` that selects nothing is States.Runtime except under ``IsPresent``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from pipeline.local.stepfunctions.asl.paths import compile_path, is_present, lookup
from pipeline.local.stepfunctions.asl.timestamps import parse_timestamp


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_timestamp(value: Any) -> bool:
    return parse_timestamp(value) is not None


_ORDERS = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
# kind -> (values of this kind?, the comparable form of a value)
_KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "String": (_is_string, str),
    "Numeric": (_is_number, lambda value: value),
    "Timestamp": (_is_timestamp, parse_timestamp),
}
# operator name -> (type test, comparable form, comparison)
COMPARISONS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any], Callable]] = {
    f"{kind}{order}": (test, form, compare)
    for kind, (test, form) in _KINDS.items()
    for order, compare in _ORDERS.items()
}
COMPARISONS["BooleanEquals"] = (_is_boolean, bool, operator.eq)
TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": _is_string,
    "IsBoolean": _is_boolean,
    "IsTimestamp": _is_timestamp,
}
OPERATORS = frozenset(
    [
        *COMPARISONS,
        *(name + "Path" for name in COMPARISONS),
        *TYPE_TESTS,
        "IsPresent",
        "StringMatches",
    ]
)


def wildcard_pattern(pattern: str) -> re.Pattern:
    """StringMatches' pattern as a regex: ``*`` matches anything, ``\\*`` a star, ``\\\\`` a
    backslash."""
    pieces, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pieces.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        pieces.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(pieces), re.DOTALL)


def _operator(rule: dict) -> str:
    return next(key for key in rule if key in OPERATORS)


def matches(rule: dict, data: Any, context: dict) -> bool:
    """Whether the Choice rule ``rule`` holds for the state input ``data``."""
    if "And" in rule:
        return all(matches(sub, data, context) for sub in rule["And"])
    if "Or" in rule:
        return any(matches(sub, data, context) for sub in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data, context)
    name = _operator(rule)
    operand, variable = rule[name], rule["Variable"]
    if name == "IsPresent":
        return is_present(variable, context if variable.startswith("$$") else data) == operand
    value = lookup(variable, data, context)
    if name in TYPE_TESTS:
        return TYPE_TESTS[name](value) == operand
    if name == "StringMatches":
        return _is_string(value) and bool(wildcard_pattern(operand).fullmatch(value))
    if name.endswith("Path"):
        name, operand = name[: -len("Path")], lookup(operand, data, context)
    test, form, compare = COMPARISONS[name]
    return test(value) and test(operand) and compare(form(value), form(operand))


def check_rule(rule: Any, top_level: bool) -> None:
    """Raise ValueError when ``rule`` is not a Choice rule the interpreter can evaluate."""
    if not isinstance(rule, dict):
        raise ValueError(f"a Choice rule must be an object, not {rule!r}")
    if "Condition" in rule:
        raise ValueError("its Condition is JSONata: write the rule in JSONPath with a Variable")
    allowed = {"Comment", "Next"} if top_level else {"Comment"}
    if top_level and "Next" not in rule:
        raise ValueError("every Choice rule needs a Next")
    combinators = [key for key in ("And", "Or", "Not") if key in rule]
    if combinators:
        (key,) = combinators
        subrules = [rule[key]] if key == "Not" else rule[key]
        if not isinstance(subrules, list) or not subrules:
            raise ValueError(f"{key} needs a non-empty list of rules")
        for subrule in subrules:
            check_rule(subrule, top_level=False)
        extra = set(rule) - allowed - {key}
    else:
        names = [key for key in rule if key in OPERATORS]
        if len(names) != 1 or "Variable" not in rule:
            raise ValueError(f"the rule {rule!r} needs a Variable and exactly one operator")
        _check_operand(names[0], rule[names[0]])
        compile_path(rule["Variable"])
        extra = set(rule) - allowed - {"Variable", names[0]}
    if extra:
        raise ValueError(f"a Choice rule has the field(s) {', '.join(sorted(extra))}")


def _check_operand(name: str, operand: Any) -> None:
    if name.endswith("Path"):
        compile_path(operand)
        return
    if name in TYPE_TESTS or name in ("IsPresent", "BooleanEquals"):
        valid = _is_boolean(operand)
    elif name.startswith("Numeric"):
        valid = _is_number(operand)
    elif name.startswith("Timestamp"):
        valid = _is_timestamp(operand)
    else:
        valid = _is_string(operand)
    if not valid:
        raise ValueError(f"{name} cannot compare with {operand!r}")
