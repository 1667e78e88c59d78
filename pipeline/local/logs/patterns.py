"""CloudWatch Logs filter patterns: compile a pattern into a predicate over messages.

Supported: the empty pattern (everything); terms — space-separated words or quoted
phrases that must all occur, ``?term`` (any of these) and ``-term`` (none of these);
JSON patterns ``{ SELECTOR OP VALUE }`` joined with ``&&`` / ``||`` and parentheses, with
``=`` / ``!=`` on strings (``*`` wildcards) and numbers, ``<`` ``>`` ``<=`` ``>=`` on numbers,
``IS TRUE`` / ``IS FALSE`` / ``IS NULL`` and ``NOT EXISTS``.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[str], bool]
_MISSING = object()


class PatternError(ValueError):
    """The filter pattern is not one this backend understands."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<selector>\$(?:\.[\w\-@]+|\[\d+\])*)
    | (?P<punct>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w*]))
    | (?P<word>[^\s(){}=<>!&|"]+)
    )""",
    re.VERBOSE,
)

NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}

KEYWORD_TESTS: dict[tuple[str, ...], Callable[[Any], bool]] = {
    ("IS", "TRUE"): lambda value: value is True,
    ("IS", "FALSE"): lambda value: value is False,
    ("IS", "NULL"): lambda value: value is None,
    ("NOT", "EXISTS"): lambda value: value is _MISSING,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PatternError(f"Invalid filter pattern near {text[position:]!r}.")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _select(document: Any, selector: str) -> Any:
    value = document
    for key, index in re.findall(r"\.([\w\-@]+)|\[(\d+)\]", selector[1:]):
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _glob(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def _comparison(selector: str, op: str, kind: str, literal: str) -> Callable[[Any], bool]:
    if kind == "number":
        number, compare = float(literal), NUMERIC[op]

        def numeric(doc: Any) -> bool:
            value = _select(doc, selector)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            return is_number and compare(value, number)

        return numeric
    if op not in ("=", "!="):
        raise PatternError(f"Operator {op} compares numbers only, not {literal}.")
    pattern = _glob(json.loads(literal) if kind == "string" else literal)
    wanted = op == "="

    def textual(doc: Any) -> bool:
        value = _select(doc, selector)
        return isinstance(value, str) and bool(pattern.fullmatch(value)) == wanted

    return textual


class _JsonParser:
    """Recursive descent over ``or := and ('||' and)*; and := atom ('&&' atom)*``."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise PatternError("The filter pattern ends too early.")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise PatternError(f"Expected {expected!r} in the filter pattern, got {token[1]!r}.")
        self.at += 1
        return token

    def either(self) -> Callable[[Any], bool]:
        parts = [self.both()]
        while self.peek() == "||":
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else lambda doc: any(p(doc) for p in parts)

    def both(self) -> Callable[[Any], bool]:
        parts = [self.atom()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.atom())
        return parts[0] if len(parts) == 1 else lambda doc: all(p(doc) for p in parts)

    def atom(self) -> Callable[[Any], bool]:
        if self.peek() == "(":
            self.take()
            inner = self.either()
            self.take(")")
            return inner
        kind, selector = self.take()
        if kind != "selector":
            raise PatternError(f"Expected a $. selector in the filter pattern, got {selector!r}.")
        words = tuple(token[1].upper() for token in self.tokens[self.at : self.at + 2])
        if words in KEYWORD_TESTS:
            self.at += 2
            test = KEYWORD_TESTS[words]
            return lambda doc: test(_select(doc, selector))
        _, op = self.take()
        if op not in NUMERIC:
            raise PatternError(f"Unknown operator {op!r} in the filter pattern.")
        kind, literal = self.take()
        return _comparison(selector, op, kind, literal)


def _json_pattern(text: str) -> Predicate:
    parser = _JsonParser(_tokens(text))
    parser.take("{")
    test = parser.either()
    parser.take("}")
    if parser.peek() is not None:
        raise PatternError("Nothing may follow the closing } of a JSON filter pattern.")

    def predicate(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return test(document)

    return predicate


def _term_pattern(text: str) -> Predicate:
    groups: dict[str, list[str]] = {"": [], "?": [], "-": []}
    for match in re.finditer(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))', text):
        sign, quoted, word = match.groups()
        groups[sign].append(json.loads(f'"{quoted}"') if quoted is not None else word)
    required, optional, excluded = groups[""], groups["?"], groups["-"]

    def predicate(message: str) -> bool:
        return (
            all(term in message for term in required)
            and (not optional or any(term in message for term in optional))
            and not any(term in message for term in excluded)
        )

    return predicate


def _unsupported(text: str) -> Predicate:
    raise PatternError(f"Filter pattern {text!r} uses a syntax this local backend lacks.")


PATTERN_KINDS: dict[str, Callable[[str], Predicate]] = {
    "{": _json_pattern,
    "[": _unsupported,
    "%": _unsupported,
}
"""Pattern compilers by the pattern's first character; anything else is terms."""


def compile_pattern(text: str | None) -> Predicate:
    """A predicate telling whether a message matches the filter pattern ``text``."""
    text = (text or "").strip()
    if not text:
        return lambda message: True
    return PATTERN_KINDS.get(text[0], _term_pattern)(text)
