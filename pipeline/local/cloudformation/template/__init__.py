"""The CloudFormation template, read locally: ``load_template`` parses a body (YAML short
tags or JSON), ``resolve_stack`` resolves it for one stack — parameters, conditions,
intrinsics, resources in dependency order, outputs — with no side effects.

Values keep the types the template gives them, except where CloudFormation produces
strings: ``Ref`` of any scalar parameter (``Number`` too) is a string, ``Fn::Sub`` /
``Fn::Join`` / ``Fn::Base64`` give strings, and outputs are strings (lists joined with ",").
"""

from pipeline.local.cloudformation.template.errors import TemplateError
from pipeline.local.cloudformation.template.loader import load_template
from pipeline.local.cloudformation.template.names import Namer, default_namer, partition_of
from pipeline.local.cloudformation.template.stack import (
    ResolvedResource,
    ResolvedStack,
    resolve_stack,
)

__all__ = [
    "Namer",
    "ResolvedResource",
    "ResolvedStack",
    "TemplateError",
    "default_namer",
    "load_template",
    "partition_of",
    "resolve_stack",
]
