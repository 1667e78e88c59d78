"""Payload templates (Parameters, ItemSelector, ResultSelector): fields whose names end in
``.$`` take the value of a path or an intrinsic call; everything else is copied."""

from __future__ import annotations

import json
from typing import Any

from pipeline.local.stepfunctions.asl import intrinsics
from pipeline.local.stepfunctions.asl.errors import RuntimeFailure
from pipeline.local.stepfunctions.asl.paths import compile_path, lookup


def resolve(expression: str, data: Any, context: dict) -> Any:
    """The value of a ``.$`` expression: an intrinsic call, a ``$$`` context path or a
    ``$`` path into ``data``."""
    if intrinsics.is_intrinsic(expression):
        return intrinsics.evaluate(expression, lambda path: lookup(path, data, context))
    return lookup(expression, data, context)


def render(template: Any, data: Any, context: dict) -> Any:
    """``template`` with every ``.$`` field replaced by its value."""
    if isinstance(template, list):
        return [render(item, data, context) for item in template]
    if not isinstance(template, dict):
        return template
    rendered = {}
    for key, value in template.items():
        if not key.endswith(".$"):
            rendered[key] = render(value, data, context)
            continue
        try:
            rendered[key[:-2]] = resolve(value, data, context)
        except RuntimeFailure as exc:
            raise RuntimeFailure(
                f"The value {value!r} of the field '{key}' could not be evaluated against "
                f"{json.dumps(data, separators=(',', ':'))}: {exc.cause}"
            ) from None
    return rendered


def check_expression(expression: Any) -> None:
    """Raise ValueError unless ``expression`` is a path or an intrinsic call that parses."""
    if intrinsics.is_intrinsic(expression):
        call = intrinsics.parse_call(expression)
        for path in intrinsics.paths_in(call):
            compile_path(path)
    else:
        compile_path(expression)


def check_template(template: Any) -> None:
    """Raise ValueError for the first ``.$`` field of ``template`` that cannot be evaluated."""
    if isinstance(template, list):
        for item in template:
            check_template(item)
    elif isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                try:
                    check_expression(value)
                except ValueError as exc:
                    raise ValueError(f"its field '{key}' is not usable: {exc}") from None
            else:
                check_template(value)
