"""Intrinsic functions and conditions: a registry of ``Fn::*`` name → function, and the
evaluator that walks a template value and resolves every intrinsic in it."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from pipeline.local.cloudformation.template.errors import TemplateError
from pipeline.local.cloudformation.template.parameters import as_string


class _NoValue:
    """``AWS::NoValue``: removes the key or list item it is the value of."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class ResolvedTarget:
    """What ``Ref`` and ``Fn::GetAtt`` read from a resource already resolved."""

    type: str
    physical_id: str
    attributes: dict[str, Any]


@dataclass
class StackScope:
    """Everything intrinsics can refer to in one stack: pseudo parameters, parameters,
    mappings, conditions, and the resources resolved so far."""

    pseudo: dict[str, Any]
    parameters: Mapping[str, str | list[str]]
    mappings: Mapping[str, Any]
    condition_definitions: Mapping[str, Any]
    functions: Mapping[str, Function]
    resource_types: Mapping[str, str]
    inactive: dict[str, str] = field(default_factory=dict)
    resolved: dict[str, ResolvedTarget] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    _evaluating: list[str] = field(default_factory=list)

    def evaluator(self, where: str) -> Evaluator:
        """An evaluator whose errors start with ``where`` (``Resource X``, ``Output Y``)."""
        return Evaluator(self, where)

    def condition(self, name: Any, where: str) -> bool:
        """The value of the named condition, evaluated once."""
        if name in self.conditions:
            return self.conditions[name]
        if not isinstance(name, str) or name not in self.condition_definitions:
            raise TemplateError(
                f"{where} uses condition {name}, which the Conditions section does not "
                "declare: declare it or fix the name."
            )
        if name in self._evaluating:
            cycle = " → ".join([*self._evaluating[self._evaluating.index(name) :], name])
            raise TemplateError(
                f"Conditions refer to each other in a circle ({cycle}): break the circle."
            )
        self._evaluating.append(name)
        try:
            evaluator = Evaluator(self, f"Condition {name}", in_conditions=True)
            value = evaluator.condition_value(self.condition_definitions[name])
        finally:
            self._evaluating.pop()
        self.conditions[name] = value
        return value


@dataclass
class Evaluator:
    """Resolves template values for one place of the template (``where``)."""

    scope: StackScope
    where: str
    in_conditions: bool = False

    def error(self, problem: str) -> TemplateError:
        """A TemplateError whose sentence starts with where the problem is."""
        return TemplateError(f"{self.where} {problem}")

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic resolved; ``AWS::NoValue`` keys and items removed
        (a bare ``AWS::NoValue`` comes back as ``NO_VALUE``)."""
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, argument),) = node.items()
                function = self._function(key)
                if function is not None:
                    return function(self, argument)
            resolved = {key: self.value(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(node, list):
            return [item for item in map(self.value, node) if item is not NO_VALUE]
        return node

    def _function(self, key: Any) -> Function | None:
        function = self.scope.functions.get(key)
        if function is not None:
            return function
        if key in CONDITION_FUNCTIONS:
            if self.in_conditions:
                return CONDITION_FUNCTIONS[key]
            if key.startswith("Fn::"):
                raise self.error(
                    f"uses {key} outside the Conditions section: declare a condition with it "
                    "and use Fn::If."
                )
            return None
        if isinstance(key, str) and key.startswith("Fn::"):
            hint = _UNSUPPORTED_HINTS.get(key, "replace it with a parameter or a literal value")
            raise self.error(f"uses {key}, which the local backend cannot resolve: {hint}.")
        return None

    def text(self, node: Any, what: str) -> str:
        """``node`` resolved to one string (numbers and booleans as CloudFormation writes them)."""
        return self.as_text(self.value(node), what)

    def as_text(self, value: Any, what: str) -> str:
        """A resolved scalar as a string; lists, mappings and AWS::NoValue are errors."""
        if isinstance(value, dict | list) or value is NO_VALUE or value is None:
            raise self.error(f"needs a string for {what} but got {_describe(value)}.")
        return as_string(value)

    def items(self, node: Any, what: str) -> list[Any]:
        """``node`` resolved to a list."""
        value = self.value(node)
        if not isinstance(value, list):
            raise self.error(f"needs a list for {what} but got {_describe(value)}.")
        return value

    def condition_value(self, node: Any) -> bool:
        """A condition expression (``Fn::Equals``, ``Fn::And`` ... or ``Condition``) → bool."""
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.error(
                f"needs a condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition) "
                f"but got {_describe(value)}."
            )
        return value

    def ref(self, name: Any) -> Any:
        """What ``Ref name`` returns here."""
        scope = self.scope
        if not isinstance(name, str):
            raise self.error(f"uses Ref with {_describe(name)}: Ref takes a name.")
        if name in scope.pseudo:
            return scope.pseudo[name]
        if name in scope.parameters:
            return scope.parameters[name]
        return self._target(name).physical_id

    def attribute(self, resource: Any, attribute: Any) -> Any:
        """What ``Fn::GetAtt [resource, attribute]`` returns here."""
        if not isinstance(resource, str) or not isinstance(attribute, str) or not attribute:
            raise self.error("uses Fn::GetAtt without a resource name and an attribute name.")
        target = self._target(resource)
        if attribute not in target.attributes:
            offered = ", ".join(sorted(target.attributes)) or "no attributes"
            raise self.error(
                f"asks for {resource}.{attribute}, which the local backend does not provide "
                f"for {target.type}: use one of {offered}, or Ref {resource}."
            )
        return target.attributes[attribute]

    def _target(self, name: str) -> ResolvedTarget:
        scope = self.scope
        if name in scope.resolved:
            return scope.resolved[name]
        if name in scope.inactive:
            condition = scope.inactive[name]
            raise self.error(
                f"refers to {name}, whose condition {condition} is false: guard the reference "
                f"with Fn::If on {condition}."
            )
        if name in scope.resource_types:
            raise self.error(
                f"refers to resource {name}, which cannot be used here: refer only to "
                "parameters and pseudo parameters."
            )
        raise self.error(
            f"refers to {name}, which is neither a parameter, a pseudo parameter nor a "
            "resource of this template: fix the name or declare it."
        )

    def arguments(self, argument: Any, name: str, count: int) -> list[Any]:
        """The argument list of ``name``, which must have ``count`` items."""
        if not isinstance(argument, list) or len(argument) != count:
            raise self.error(f"uses {name} with {_describe(argument)}: it takes {count} arguments.")
        return argument


Function = Callable[[Evaluator, Any], Any]


def _describe(value: Any) -> str:
    if value is NO_VALUE:
        return "AWS::NoValue"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{value!r}"


def sub_variables(template: str) -> Iterator[str]:
    """The variable names ``${...}`` in an ``Fn::Sub`` string (not the ``${!Literal}`` escapes)."""
    for match in _SUB_VARIABLE.finditer(template):
        inner = match.group(1)
        if not inner.startswith("!"):
            yield inner.strip()


def getatt_arguments(argument: Any) -> list[Any]:
    """``Fn::GetAtt``'s argument as ``[resource, attribute]`` (also from ``"Res.Attr"``)."""
    if isinstance(argument, str):
        resource, _, attribute = argument.partition(".")
        return [resource, attribute]
    return argument


def _ref(evaluator: Evaluator, argument: Any) -> Any:
    return evaluator.ref(argument)


def _get_att(evaluator: Evaluator, argument: Any) -> Any:
    resource, attribute = evaluator.arguments(getatt_arguments(argument), "Fn::GetAtt", 2)
    return evaluator.attribute(resource, evaluator.value(attribute))


def _sub(evaluator: Evaluator, argument: Any) -> str:
    if isinstance(argument, str):
        template, variables = argument, {}
    else:
        template, variables = evaluator.arguments(argument, "Fn::Sub", 2)
        if not isinstance(template, str) or not isinstance(variables, dict):
            raise evaluator.error("uses Fn::Sub with a list that is not [string, mapping].")
        variables = {name: evaluator.value(value) for name, value in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "${" + inner[1:] + "}"
        name = inner.strip()
        if name in variables:
            value = variables[name]
        elif "." in name:
            value = evaluator.attribute(*name.split(".", 1))
        else:
            value = evaluator.ref(name)
        if isinstance(value, dict | list) or value is NO_VALUE:
            raise evaluator.error(
                f"uses ${{{name}}} in Fn::Sub, which is {_describe(value)}, not a string: "
                "wrap it in Fn::Join or Fn::Select."
            )
        return as_string(value)

    return _SUB_VARIABLE.sub(substitute, template)


def _join(evaluator: Evaluator, argument: Any) -> str:
    delimiter, items = evaluator.arguments(argument, "Fn::Join", 2)
    separator = evaluator.text(delimiter, "the Fn::Join delimiter")
    values = evaluator.items(items, "the Fn::Join values")
    if any(isinstance(value, dict | list) for value in values):
        raise evaluator.error("uses Fn::Join on a list that holds lists or mappings.")
    return separator.join(as_string(value) for value in values)


def _select(evaluator: Evaluator, argument: Any) -> Any:
    index, items = evaluator.arguments(argument, "Fn::Select", 2)
    position = evaluator.text(index, "the Fn::Select index")
    values = evaluator.items(items, "the Fn::Select list")
    if not position.isdigit() or int(position) >= len(values):
        raise evaluator.error(
            f"uses Fn::Select index {position} on a list of {len(values)}: pick an index "
            f"from 0 to {len(values) - 1}."
        )
    return values[int(position)]


def _split(evaluator: Evaluator, argument: Any) -> list[str]:
    delimiter, source = evaluator.arguments(argument, "Fn::Split", 2)
    separator = evaluator.text(delimiter, "the Fn::Split delimiter")
    if not separator:
        raise evaluator.error("uses Fn::Split with an empty delimiter.")
    return evaluator.text(source, "the Fn::Split source").split(separator)


def _if(evaluator: Evaluator, argument: Any) -> Any:
    name, when_true, when_false = evaluator.arguments(argument, "Fn::If", 3)
    chosen = when_true if evaluator.scope.condition(name, evaluator.where) else when_false
    return evaluator.value(chosen)


def _find_in_map(evaluator: Evaluator, argument: Any) -> Any:
    map_name, top_key, second_key = (
        evaluator.text(item, "an Fn::FindInMap key")
        for item in evaluator.arguments(argument, "Fn::FindInMap", 3)
    )
    try:
        return evaluator.value(evaluator.scope.mappings[map_name][top_key][second_key])
    except (KeyError, TypeError):
        raise evaluator.error(
            f"uses Fn::FindInMap [{map_name}, {top_key}, {second_key}], which the Mappings "
            "section does not hold: add the entry or fix the keys."
        ) from None


def _find_in_map_with_default(evaluator: Evaluator, argument: Any) -> Any:
    """``Fn::FindInMap`` with AWS::LanguageExtensions' fourth ``{DefaultValue: x}`` argument."""
    if isinstance(argument, list) and len(argument) == 4 and isinstance(argument[3], dict):
        try:
            return _find_in_map(evaluator, argument[:3])
        except TemplateError:
            if "DefaultValue" not in argument[3]:
                raise
            return evaluator.value(argument[3]["DefaultValue"])
    return _find_in_map(evaluator, argument)


def _get_azs(evaluator: Evaluator, argument: Any) -> list[str]:
    region = (
        evaluator.text(argument, "the Fn::GetAZs region") or evaluator.scope.pseudo["AWS::Region"]
    )
    return [f"{region}{letter}" for letter in "abc"]


def _base64(evaluator: Evaluator, argument: Any) -> str:
    text = evaluator.text(argument, "Fn::Base64")
    return base64.b64encode(text.encode()).decode()


def _cidr(evaluator: Evaluator, argument: Any) -> list[str]:
    block, count, bits = (
        evaluator.text(item, "an Fn::Cidr argument")
        for item in evaluator.arguments(argument, "Fn::Cidr", 3)
    )
    try:
        network = ipaddress.ip_network(block)
        prefix = network.max_prefixlen - int(bits)
        subnets = [str(subnet) for subnet in islice(network.subnets(new_prefix=prefix), int(count))]
    except ValueError as error:
        raise evaluator.error(
            f"uses Fn::Cidr [{block}, {count}, {bits}], which fails: {error}."
        ) from error
    if len(subnets) < int(count):
        raise evaluator.error(
            f"uses Fn::Cidr for {count} blocks, but {block} holds {len(subnets)}."
        )
    return subnets


def _length(evaluator: Evaluator, argument: Any) -> int:
    return len(evaluator.items(argument, "Fn::Length"))


def _to_json_string(evaluator: Evaluator, argument: Any) -> str:
    return json.dumps(evaluator.value(argument), separators=(",", ":"))


def _equals(evaluator: Evaluator, argument: Any) -> bool:
    left, right = evaluator.arguments(argument, "Fn::Equals", 2)
    return _comparable(evaluator.value(left)) == _comparable(evaluator.value(right))


def _comparable(value: Any) -> Any:
    """Values compared as CloudFormation compares them: scalars as strings."""
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    return as_string(value)


def _not(evaluator: Evaluator, argument: Any) -> bool:
    (condition,) = evaluator.arguments(argument, "Fn::Not", 1)
    return not evaluator.condition_value(condition)


def _conditions(evaluator: Evaluator, argument: Any, name: str) -> list[bool]:
    if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
        raise evaluator.error(
            f"uses {name} with {_describe(argument)}: it takes 2 to 10 conditions."
        )
    return [evaluator.condition_value(item) for item in argument]


def _and(evaluator: Evaluator, argument: Any) -> bool:
    return all(_conditions(evaluator, argument, "Fn::And"))


def _or(evaluator: Evaluator, argument: Any) -> bool:
    return any(_conditions(evaluator, argument, "Fn::Or"))


def _condition(evaluator: Evaluator, argument: Any) -> bool:
    return evaluator.scope.condition(argument, evaluator.where)


FUNCTIONS: dict[str, Function] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs,
    "Fn::Base64": _base64,
    "Fn::Cidr": _cidr,
}
"""Intrinsic functions every template may use in resources and outputs."""

LANGUAGE_EXTENSIONS: dict[str, Function] = {
    **FUNCTIONS,
    "Fn::FindInMap": _find_in_map_with_default,
    "Fn::Length": _length,
    "Fn::ToJsonString": _to_json_string,
}
"""The functions with ``Transform: AWS::LanguageExtensions`` declared."""

CONDITION_FUNCTIONS: dict[str, Function] = {
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
}
"""Functions allowed only inside the Conditions section."""

_UNSUPPORTED_HINTS = {
    "Fn::ImportValue": "pass the exported value in as a parameter instead",
    "Fn::Transform": "expand the macro into plain template values",
}
