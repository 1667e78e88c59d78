"""The template resolver's one exception type."""

from pipeline.errors import N2NError


class TemplateError(N2NError, ValueError):
    """The template or its parameters cannot be resolved locally; the message names the
    resource, parameter, condition or output at fault and says what to change."""
