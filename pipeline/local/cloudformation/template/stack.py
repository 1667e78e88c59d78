"""A whole template resolved for one stack: parameters, conditions, resources in
dependency order, outputs — pure, with the physical names from a caller's namer."""

from __future__ import annotations

import graphlib
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.local.cloudformation.template.errors import TemplateError
from pipeline.local.cloudformation.template.functions import (
    FUNCTIONS,
    LANGUAGE_EXTENSIONS,
    NO_VALUE,
    Evaluator,
    Function,
    ResolvedTarget,
    StackScope,
    getatt_arguments,
    sub_variables,
)
from pipeline.local.cloudformation.template.names import Namer, default_namer, partition_of
from pipeline.local.cloudformation.template.parameters import as_string, resolve_parameters
from pipeline.local.cloudformation.template.rules import check_rules

_SECTIONS = (
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
)
_FORMAT_VERSION = "2010-09-09"
# Transform name → the intrinsic functions it makes available.
_TRANSFORMS: dict[str, Mapping[str, Function]] = {"AWS::LanguageExtensions": LANGUAGE_EXTENSIONS}
_RESOURCE_ATTRIBUTES = (
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
)
# Policy attribute → the values CloudFormation accepts.
_POLICIES = {
    "DeletionPolicy": ("Delete", "Retain", "RetainExceptOnCreate", "Snapshot"),
    "UpdateReplacePolicy": ("Delete", "Retain", "Snapshot"),
}
_STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_NAMED_SECTIONS = ("Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs")


@dataclass
class ResolvedResource:
    """One resource with every intrinsic resolved and its local physical names."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    physical_id: str
    attributes: dict[str, Any]
    depends_on: list[str]
    deletion_policy: str | None
    update_replace_policy: str | None
    metadata: dict[str, Any]


@dataclass
class ResolvedStack:
    """A template resolved for one stack, as CloudFormation would create it."""

    stack_name: str
    stack_id: str
    region: str
    account: str
    description: str
    parameters: dict[str, str]
    no_echo: frozenset[str]
    conditions: dict[str, bool]
    resources: dict[str, ResolvedResource]
    outputs: dict[str, str]
    output_descriptions: dict[str, str]
    exports: dict[str, str]


def resolve_stack(
    template: dict[str, Any],
    stack_name: str,
    parameters: Mapping[str, Any],
    *,
    namer: Namer | None = None,
    region: str = "us-east-1",
    account: str = "000000000000",
    stack_id: str | None = None,
) -> ResolvedStack:
    """Resolve ``template`` (from ``load_template``) for ``stack_name`` with ``parameters``:
    only resources and outputs whose Condition holds, resources in dependency order,
    physical ids and attributes from ``namer`` (default: ``default_namer``). Anything the
    local backend cannot honour raises TemplateError naming where it is."""
    if not _STACK_NAME.fullmatch(stack_name):
        raise TemplateError(
            f"Stack name {stack_name!r} must start with a letter and hold only letters, digits "
            "and hyphens (at most 128 characters)."
        )
    functions = _check_sections(template)
    declared = resolve_parameters(_section(template, "Parameters"), parameters)
    partition, url_suffix = partition_of(region)
    stack_id = stack_id or (
        f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/"
        f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{region}/{account}/{stack_name}')}"
    )
    resources = _section(template, "Resources")
    if not resources:
        raise TemplateError("Template has no resources: declare at least one under Resources.")
    scope = StackScope(
        pseudo={
            "AWS::StackName": stack_name,
            "AWS::StackId": stack_id,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": partition,
            "AWS::URLSuffix": url_suffix,
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        },
        parameters=declared.refs,
        mappings=_section(template, "Mappings"),
        condition_definitions=_section(template, "Conditions"),
        functions=functions,
        resource_types={
            logical_id: _resource_type(logical_id, declaration)
            for logical_id, declaration in resources.items()
        },
    )
    check_rules(scope, _section(template, "Rules"))
    for name in scope.condition_definitions:
        scope.condition(name, f"Condition {name}")
    active = _active_resources(scope, resources)
    graph = {
        logical_id: _dependencies(scope, logical_id, declaration)
        for logical_id, declaration in active.items()
    }
    namer = namer or default_namer(stack_name, region=region, account=account)
    resolved: dict[str, ResolvedResource] = {}
    for logical_id in _dependency_order(graph):
        resource = _resolve_resource(
            scope,
            logical_id,
            active[logical_id],
            sorted(graph[logical_id]),
            namer,
            policy_functions=functions is not FUNCTIONS,
        )
        resolved[logical_id] = resource
        scope.resolved[logical_id] = ResolvedTarget(
            resource.type, resource.physical_id, resource.attributes
        )
    outputs, descriptions, exports = _resolve_outputs(scope, _section(template, "Outputs"))
    return ResolvedStack(
        stack_name=stack_name,
        stack_id=stack_id,
        region=region,
        account=account,
        description=as_string(template.get("Description", "")),
        parameters=declared.values,
        no_echo=declared.no_echo,
        conditions=dict(scope.conditions),
        resources=resolved,
        outputs=outputs,
        output_descriptions=descriptions,
        exports=exports,
    )


def _check_sections(template: Mapping[str, Any]) -> Mapping[str, Function]:
    """Reject sections and transforms the local backend cannot honour; return the
    intrinsic functions the template may use."""
    for section in template:
        if section not in _SECTIONS:
            raise TemplateError(
                f"Template section {section} is not supported locally: remove it "
                f"(the local backend reads {', '.join(_SECTIONS)})."
            )
    version = template.get("AWSTemplateFormatVersion", _FORMAT_VERSION)
    if as_string(version) != _FORMAT_VERSION:
        raise TemplateError(
            f"Template has AWSTemplateFormatVersion {version}: use {_FORMAT_VERSION}."
        )
    transforms = template.get("Transform", [])
    functions: Mapping[str, Function] = FUNCTIONS
    for transform in transforms if isinstance(transforms, list) else [transforms]:
        if transform not in _TRANSFORMS:
            raise TemplateError(
                f"Template uses Transform {transform}, which the local backend cannot expand: "
                "deploy the processed template instead."
            )
        functions = _TRANSFORMS[transform]
    for section in _NAMED_SECTIONS:
        for name in _section(template, section):
            _check_name(section, name)
    return functions


def _check_name(section: str, name: Any) -> None:
    if isinstance(name, str) and name.startswith("Fn::ForEach"):
        raise TemplateError(
            f"Template uses {name}, which the local backend cannot expand: write the "
            f"{section.lower()} out one by one."
        )
    if not isinstance(name, str) or not _LOGICAL_ID.fullmatch(name):
        raise TemplateError(
            f"{section} entry {name!r} needs a name of letters and digits only: rename it "
            "(YAML reads unquoted On, Off, Yes and No as booleans)."
        )


def _section(template: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = template.get(name, {})
    if not isinstance(section, dict):
        raise TemplateError(f"Template section {name} must be a mapping of names to entries.")
    return section


def _resource_type(logical_id: str, declaration: Any) -> str:
    if not isinstance(declaration, dict) or not isinstance(declaration.get("Type"), str):
        raise TemplateError(f"Resource {logical_id} has no Type: add one, e.g. AWS::S3::Bucket.")
    for attribute in declaration:
        if attribute not in _RESOURCE_ATTRIBUTES:
            raise TemplateError(
                f"Resource {logical_id} has attribute {attribute}, which the local backend "
                f"does not honour: remove it (supported: {', '.join(_RESOURCE_ATTRIBUTES)})."
            )
    return declaration["Type"]


def _active_resources(scope: StackScope, resources: Mapping[str, Any]) -> dict[str, Any]:
    """The resources whose Condition holds; the others go to ``scope.inactive``."""
    active = {}
    for logical_id, declaration in resources.items():
        condition = declaration.get("Condition")
        if condition is None or scope.condition(condition, f"Resource {logical_id}"):
            active[logical_id] = declaration
        else:
            scope.inactive[logical_id] = condition
    return active


def _dependencies(scope: StackScope, logical_id: str, declaration: Mapping[str, Any]) -> set[str]:
    """The active resources ``logical_id`` needs first: DependsOn, and every Ref, Fn::GetAtt
    and Fn::Sub variable in its properties and metadata (on the Fn::If branches taken)."""
    depends_on = declaration.get("DependsOn", [])
    depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
    for name in depends_on:
        if name not in scope.resource_types:
            raise TemplateError(
                f"Resource {logical_id} depends on {name}, which is not a resource of this "
                "template: fix the name in DependsOn."
            )
        if name in scope.inactive:
            raise TemplateError(
                f"Resource {logical_id} depends on {name}, whose condition "
                f"{scope.inactive[name]} is false: give {logical_id} the same condition or "
                "drop the dependency."
            )
    referenced = set(_references(scope, declaration.get("Properties", {})))
    referenced |= set(_references(scope, declaration.get("Metadata", {})))
    resources = {name for name in referenced if name in scope.resource_types}
    return set(depends_on) | (resources - set(scope.inactive))


def _references(scope: StackScope, node: Any) -> Iterator[str]:
    """Every name that ``node`` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, argument),) = node.items()
            scanner = _SCANNERS.get(key)
            if scanner is not None:
                yield from scanner(scope, argument)
                return
        for item in node.values():
            yield from _references(scope, item)
    elif isinstance(node, list):
        for item in node:
            yield from _references(scope, item)


def _scan_ref(_: StackScope, argument: Any) -> Iterator[str]:
    if isinstance(argument, str):
        yield argument


def _scan_get_att(scope: StackScope, argument: Any) -> Iterator[str]:
    arguments = getatt_arguments(argument)
    if isinstance(arguments, list) and arguments:
        yield from _scan_ref(scope, arguments[0])
        yield from _references(scope, arguments[1:])


def _scan_sub(scope: StackScope, argument: Any) -> Iterator[str]:
    if isinstance(argument, str):
        template, variables = argument, {}
    elif isinstance(argument, list) and len(argument) == 2:
        template, variables = argument
    else:
        return
    if not isinstance(template, str) or not isinstance(variables, dict):
        return
    for name in sub_variables(template):
        if name not in variables:
            yield name.split(".", 1)[0]
    yield from _references(scope, list(variables.values()))


def _scan_if(scope: StackScope, argument: Any) -> Iterator[str]:
    if not isinstance(argument, list) or len(argument) != 3:
        return
    condition, when_true, when_false = argument
    if condition in scope.conditions:
        yield from _references(scope, when_true if scope.conditions[condition] else when_false)
    else:
        yield from _references(scope, [when_true, when_false])


# Intrinsic → how to find the names it refers to, for the dependency graph.
_SCANNERS = {
    "Ref": _scan_ref,
    "Fn::GetAtt": _scan_get_att,
    "Fn::Sub": _scan_sub,
    "Fn::If": _scan_if,
}


def _dependency_order(graph: Mapping[str, set[str]]) -> list[str]:
    """Resources in an order where each follows what it needs; ties keep template order."""
    pending = dict(graph)
    done: set[str] = set()
    order: list[str] = []
    while pending:
        ready = next((name for name, needs in pending.items() if needs <= done), None)
        if ready is None:
            try:
                graphlib.TopologicalSorter(pending).prepare()
            except graphlib.CycleError as error:
                cycle = " → ".join(error.args[1])
            raise TemplateError(
                f"Resources {cycle} depend on each other in a circle (through Ref, Fn::GetAtt, "
                "Fn::Sub or DependsOn): remove one of these references."
            )
        order.append(ready)
        done.add(ready)
        del pending[ready]
    return order


def _resolve_resource(
    scope: StackScope,
    logical_id: str,
    declaration: Mapping[str, Any],
    depends_on: list[str],
    namer: Namer,
    *,
    policy_functions: bool,
) -> ResolvedResource:
    evaluator = scope.evaluator(f"Resource {logical_id}")
    properties = _mapping(evaluator, declaration.get("Properties", {}), "Properties")
    metadata = _mapping(evaluator, declaration.get("Metadata", {}), "Metadata")
    policies = {
        attribute: _policy(evaluator, declaration, attribute, policy_functions)
        for attribute in _POLICIES
    }
    resource_type = declaration["Type"]
    physical_id, attributes = namer(logical_id, resource_type, properties)
    return ResolvedResource(
        logical_id=logical_id,
        type=resource_type,
        properties=properties,
        physical_id=physical_id,
        attributes=dict(attributes),
        depends_on=depends_on,
        deletion_policy=policies["DeletionPolicy"],
        update_replace_policy=policies["UpdateReplacePolicy"],
        metadata=metadata,
    )


def _mapping(evaluator: Evaluator, node: Any, what: str) -> dict[str, Any]:
    value = evaluator.value(node)
    if value is NO_VALUE:
        return {}
    if not isinstance(value, dict):
        raise evaluator.error(f"has {what} that are not a mapping: write them as key: value.")
    return value


def _policy(
    evaluator: Evaluator, declaration: Mapping[str, Any], attribute: str, functions: bool
) -> str | None:
    if attribute not in declaration:
        return None
    node = declaration[attribute]
    if isinstance(node, dict) and not functions:
        raise evaluator.error(
            f"uses an intrinsic function in {attribute}, which needs "
            "Transform: AWS::LanguageExtensions: declare the transform or write the value."
        )
    value = evaluator.text(node, attribute)
    if value not in _POLICIES[attribute]:
        raise evaluator.error(
            f"has {attribute} {value}: use one of {', '.join(_POLICIES[attribute])}."
        )
    return value


def _resolve_outputs(
    scope: StackScope, declarations: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Outputs whose Condition holds, as strings; their descriptions; exports by name."""
    outputs: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    exports: dict[str, str] = {}
    for name, declaration in declarations.items():
        where = f"Output {name}"
        if not isinstance(declaration, dict) or "Value" not in declaration:
            raise TemplateError(f"{where} has no Value: add one.")
        condition = declaration.get("Condition")
        if condition is not None and not scope.condition(condition, where):
            continue
        evaluator = scope.evaluator(where)
        value = evaluator.value(declaration["Value"])
        if isinstance(value, list) and not any(isinstance(item, dict | list) for item in value):
            value = ",".join(as_string(item) for item in value)
        outputs[name] = evaluator.as_text(value, "its Value")
        if "Description" in declaration:
            descriptions[name] = as_string(declaration["Description"])
        if "Export" in declaration:
            export = declaration["Export"]
            export_name = export.get("Name") if isinstance(export, dict) else None
            exports[evaluator.text(export_name, "its Export Name")] = outputs[name]
    return outputs, descriptions, exports
