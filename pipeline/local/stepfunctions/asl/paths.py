"""JsonPath for ASL: InputPath, OutputPath, ResultPath and the ``$``/``$$`` paths of payload
templates, evaluated with jsonpath-ng.

A *definite* path (fields and single indices only) selects one value; any other path
(wildcards, slices, filters, ``..``) selects the list of its matches, as on AWS.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

from jsonpath_ng import jsonpath as jp
from jsonpath_ng.ext import parse

from pipeline.local.stepfunctions.asl.errors import RuntimeFailure

_MISSING = object()
_VARIABLE = re.compile(r"\$[A-Za-z_]")  # $name: a variable (Assign), not a JsonPath


class PathSyntaxError(ValueError):
    """A string that is not a JsonPath the interpreter accepts."""


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> jp.JSONPath:
    """The parsed form of ``path`` (``$...``; a context path ``$$...`` is parsed without
    its first ``$``)."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise PathSyntaxError(f"{path!r} is not a JsonPath: it must start with '$'")
    if _VARIABLE.match(path):
        raise PathSyntaxError(
            f"{path!r} reads a workflow variable, and the local backend does not interpret "
            "variables: pass the value in the state input"
        )
    try:
        return parse(path[1:] if path.startswith("$$") else path)
    except Exception as exc:  # jsonpath-ng raises several types for bad syntax
        raise PathSyntaxError(f"{path!r} is not a valid JsonPath ({exc})") from None


def reference_steps(path: str) -> list[str | int]:
    """The field names and indices of a reference path (the only kind ResultPath allows)."""
    steps: list[str | int] = []

    def walk(node: jp.JSONPath) -> None:
        if isinstance(node, jp.Child):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, jp.Fields) and len(node.fields) == 1 and node.fields[0] != "*":
            steps.append(node.fields[0])
        elif isinstance(node, jp.Index) and len(node.indices) == 1:
            steps.append(node.indices[0])
        elif not isinstance(node, jp.Root):
            raise PathSyntaxError(f"{path!r} is not a reference path (fields and indices only)")

    walk(compile_path(path))
    return steps


def is_definite(path: str) -> bool:
    """Whether ``path`` selects a single value (a reference path)."""
    try:
        reference_steps(path)
    except PathSyntaxError:
        return False
    return True


def _text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def select(path: str, data: Any, default: Any = _MISSING) -> Any:
    """The value ``path`` selects in ``data``; ``default`` (else States.Runtime) when a
    definite path matches nothing. An indefinite path gives the list of its matches."""
    matches = [match.value for match in compile_path(path).find(data)]
    if not is_definite(path):
        return matches
    if matches:
        return matches[0]
    if default is not _MISSING:
        return default
    raise RuntimeFailure(f"Invalid path '{path}' : No results for path: {path} in {_text(data)}")


def is_present(path: str, data: Any) -> bool:
    """Whether ``path`` matches anything in ``data``."""
    return bool(compile_path(path).find(data))


def apply_input_path(path: str | None, data: Any, context: dict) -> Any:
    """InputPath: the selected part of the state input (of the context object for a ``$$``
    path); null gives ``{}``."""
    return {} if path is None else lookup(path, data, context)


def apply_output_path(path: str | None, data: Any, context: dict) -> Any:
    """OutputPath: the selected part of the state output (of the context object for a
    ``$$`` path); null gives ``{}``."""
    return {} if path is None else lookup(path, data, context)


def apply_result_path(path: str | None, state_input: Any, result: Any) -> Any:
    """ResultPath: ``result`` placed into a copy of ``state_input`` at ``path`` (creating
    missing objects on the way); ``$`` gives the result, null the input unchanged."""
    if path is None:
        return state_input
    steps = reference_steps(path)
    if not steps:
        return result
    output = copy.deepcopy(state_input)
    node = output
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if not _holds(node, step):
            raise RuntimeFailure(
                f"Unable to apply ResultPath '{path}' to input {_text(state_input)}: "
                f"{step!r} cannot be set in {_text(node)}"
            )
        if following is None:
            node[step] = result
        else:
            if isinstance(step, str) and step not in node:
                node[step] = {}
            node = node[step]
    return output


def _holds(node: Any, step: str | int) -> bool:
    if isinstance(step, str):
        return isinstance(node, dict)
    return isinstance(node, list) and -len(node) <= step < len(node)


def lookup(path: str, data: Any, context: dict) -> Any:
    """``select`` in the context object for a ``$$`` path, else in ``data``.

    InputPath, OutputPath, ItemsPath, Choice variables and payload templates all read
    ``$$`` from the context object:
    https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
    """
    return select(path, context if path.startswith("$$") else data)
