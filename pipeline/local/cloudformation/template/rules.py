"""Template ``Rules``: assertions on the parameters, checked before anything is created,
as CloudFormation checks them
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).

A rule whose ``RuleCondition`` holds (or that has none) must have every ``Assert`` true;
the first that is not stops the deploy with its ``AssertDescription``. The rule functions
are ``Ref`` (parameters and pseudo parameters), ``Fn::Equals``, ``Fn::Not``, ``Fn::And``,
``Fn::Or``, ``Fn::Contains``, ``Fn::EachMemberEquals`` and ``Fn::EachMemberIn``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pipeline.local.cloudformation.template.errors import TemplateError
from pipeline.local.cloudformation.template.functions import (
    Evaluator,
    Function,
    StackScope,
)
from pipeline.local.cloudformation.template.parameters import as_string


def _strings(evaluator: Evaluator, node: Any, what: str) -> list[str]:
    return [as_string(item) for item in evaluator.items(node, what)]


def _contains(evaluator: Evaluator, argument: Any) -> bool:
    values, value = evaluator.arguments(argument, "Fn::Contains", 2)
    return evaluator.text(value, "Fn::Contains") in _strings(evaluator, values, "Fn::Contains")


def _each_member_equals(evaluator: Evaluator, argument: Any) -> bool:
    values, value = evaluator.arguments(argument, "Fn::EachMemberEquals", 2)
    expected = evaluator.text(value, "Fn::EachMemberEquals")
    return all(item == expected for item in _strings(evaluator, values, "Fn::EachMemberEquals"))


def _each_member_in(evaluator: Evaluator, argument: Any) -> bool:
    values, allowed = evaluator.arguments(argument, "Fn::EachMemberIn", 2)
    permitted = set(_strings(evaluator, allowed, "Fn::EachMemberIn"))
    return set(_strings(evaluator, values, "Fn::EachMemberIn")) <= permitted


RULE_FUNCTIONS: dict[str, Function] = {
    "Ref": lambda evaluator, name: evaluator.ref(name),
    "Fn::Contains": _contains,
    "Fn::EachMemberEquals": _each_member_equals,
    "Fn::EachMemberIn": _each_member_in,
}
"""The functions of the Rules section besides Fn::Equals, Fn::Not, Fn::And and Fn::Or."""


def check_rules(scope: StackScope, rules: Mapping[str, Any]) -> None:
    """Raise TemplateError with the first failed assertion's description."""
    rule_scope = dataclasses.replace(scope, functions=RULE_FUNCTIONS)
    for name, rule in rules.items():
        evaluator = Evaluator(rule_scope, f"Rule {name}", in_conditions=True)
        if not isinstance(rule, dict) or not isinstance(rule.get("Assertions"), list):
            raise evaluator.error("has no Assertions list: give it one.")
        if "RuleCondition" in rule and not evaluator.condition_value(rule["RuleCondition"]):
            continue
        for assertion in rule["Assertions"]:
            if not isinstance(assertion, dict) or "Assert" not in assertion:
                raise evaluator.error("has an assertion without Assert: add one.")
            if not evaluator.condition_value(assertion["Assert"]):
                description = as_string(assertion.get("AssertDescription", "")).strip()
                raise TemplateError(
                    description or f"The parameters do not meet template rule {name}."
                )
