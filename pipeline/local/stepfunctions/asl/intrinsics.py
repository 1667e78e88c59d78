"""Intrinsic functions (``States.Format(...)`` and friends): a tokenizer, a parser and a
registry of the functions by name.

Arguments are string literals in single quotes (``\\`` escapes ``'``, ``{``, ``}`` and
``\\`` itself), numbers, ``null``, ``true``, ``false``, paths (``$.x``, ``$$.Execution.Id``)
and nested calls. The rules follow
https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.local.stepfunctions.asl.errors import RuntimeFailure

MAX_ARRAY_RANGE = 1000
MAX_INPUT_CHARS = 10_000
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_ESCAPABLE = "'{}\\"
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_NAME = re.compile(r"States\.[A-Za-z][A-Za-z0-9]*")
_WORD = re.compile(r"[a-z]+")
_WORDS = {"null": None, "true": True, "false": False}


class IntrinsicSyntaxError(ValueError):
    """A string that does not parse as an intrinsic function call."""


class Literal(str):
    """A string literal's value; ``parts`` is its text split at unescaped ``{}``
    (what States.Format fills in); ``open_escape`` is a backslash that escapes none of
    ``' { } \\``, which fails the call at run time as the documentation says."""

    parts: tuple[str, ...]
    open_escape: str | None = None


@dataclass(frozen=True)
class Call:
    """``name(args...)``."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class PathArg:
    """A ``$`` or ``$$`` path argument."""

    path: str


@dataclass(frozen=True)
class Intrinsic:
    """A registered function and how many arguments it takes (``None``: any number)."""

    function: Callable[..., Any]
    min_args: int
    max_args: int | None


FUNCTIONS: dict[str, Intrinsic] = {}


def intrinsic(name: str, min_args: int, max_args: int | None = -1) -> Callable:
    """Register the decorated function as ``name``; ``max_args`` defaults to ``min_args``."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = Intrinsic(function, min_args, min_args if max_args == -1 else max_args)
        return function

    return register


def is_intrinsic(text: Any) -> bool:
    """Whether a ``.$`` value is an intrinsic call rather than a path."""
    return isinstance(text, str) and text.startswith("States.")


# -- tokenizer and parser ----------------------------------------------------------------


def _read_string(text: str, start: int) -> tuple[Literal, int]:
    """The literal opening at ``text[start] == "'"`` and the index after its closing quote."""
    parts, current, i, open_escape = [], [], start + 1, None
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                break
            if text[i + 1] not in _ESCAPABLE and open_escape is None:
                open_escape = text[i : i + 2]
            current.append(text[i + 1])
            i += 2
        elif char == "'":
            parts.append("".join(current))
            literal = Literal("{}".join(parts))
            literal.parts = tuple(parts)
            literal.open_escape = open_escape
            return literal, i + 1
        elif text.startswith("{}", i):
            parts.append("".join(current))
            current = []
            i += 2
        else:
            current.append(char)
            i += 1
    raise IntrinsicSyntaxError(f"unterminated string literal in {text!r}")


def _read_path(text: str, start: int) -> tuple[str, int]:
    depth, quote, i = 0, None, start
    while i < len(text):
        char = text[i]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"" and depth:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0 and (char in ",)" or char.isspace()):
            break
        i += 1
    return text[start:i], i


def tokenize(text: str) -> list[tuple[str, Any]]:
    """The tokens of an intrinsic call: (kind, value) with kinds
    ``name ( ) , string number word path``."""
    tokens: list[tuple[str, Any]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "(),":
            tokens.append((char, char))
            i += 1
        elif char == "'":
            value, i = _read_string(text, i)
            tokens.append(("string", value))
        elif char == "$":
            value, i = _read_path(text, i)
            tokens.append(("path", value))
        elif match := _NUMBER.match(text, i):
            number = match.group()
            tokens.append(
                ("number", float(number) if match.group(1, 2) != (None, None) else int(number))
            )
            i = match.end()
        elif match := _NAME.match(text, i):
            tokens.append(("name", match.group()))
            i = match.end()
        elif match := _WORD.match(text, i):
            if match.group() not in _WORDS:
                raise IntrinsicSyntaxError(f"unexpected {match.group()!r} in {text!r}")
            tokens.append(("word", _WORDS[match.group()]))
            i = match.end()
        else:
            raise IntrinsicSyntaxError(f"unexpected {char!r} at position {i} in {text!r}")
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> str:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else ""

    def next(self, *kinds: str) -> tuple[str, Any]:
        if self.position >= len(self.tokens):
            raise IntrinsicSyntaxError(f"{self.text!r} ends too early")
        kind, value = self.tokens[self.position]
        if kinds and kind not in kinds:
            raise IntrinsicSyntaxError(
                f"expected {' or '.join(kinds)}, found {value!r} in {self.text!r}"
            )
        self.position += 1
        return kind, value

    def call(self) -> Call:
        _, name = self.next("name")
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise IntrinsicSyntaxError(
                f"{name} is not an intrinsic function the local backend knows"
            )
        self.next("(")
        args: list[Any] = []
        if self.peek() == ")":
            self.next(")")
        else:
            args.append(self.argument())
            while self.next(",", ")")[0] == ",":
                args.append(self.argument())
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise IntrinsicSyntaxError(f"{name} does not take {len(args)} argument(s)")
        return Call(name, tuple(args))

    def argument(self) -> Any:
        if self.peek() == "name":
            return self.call()
        kind, value = self.next("string", "number", "word", "path")
        return PathArg(value) if kind == "path" else value


@functools.lru_cache(maxsize=1024)
def parse_call(text: str) -> Call:
    """The parsed form of an intrinsic call; raises IntrinsicSyntaxError."""
    parser = _Parser(text)
    call = parser.call()
    if parser.position != len(parser.tokens):
        raise IntrinsicSyntaxError(f"unexpected text after the call in {text!r}")
    return call


def paths_in(node: Any) -> list[str]:
    """Every path argument in a parsed call, nested calls included."""
    if isinstance(node, Call):
        return [path for arg in node.args for path in paths_in(arg)]
    return [node.path] if isinstance(node, PathArg) else []


def evaluate(text: str, resolve: Callable[[str], Any]) -> Any:
    """The value of the intrinsic call ``text``; ``resolve`` gives a path's value."""
    try:
        result = _evaluate(parse_call(text), resolve)
    except IntrinsicSyntaxError as exc:
        raise RuntimeFailure(str(exc)) from None
    return json.loads(json.dumps(result))  # plain JSON values, sharing nothing with the input


def _evaluate(node: Any, resolve: Callable[[str], Any]) -> Any:
    if isinstance(node, PathArg):
        return resolve(node.path)
    if isinstance(node, Literal) and node.open_escape:
        raise RuntimeFailure(
            f"The string literal '{node}' has the open escape {node.open_escape!r}: "
            "a backslash may only escape ', {, } or a backslash"
        )
    if not isinstance(node, Call):
        return node
    args = [_evaluate(arg, resolve) for arg in node.args]
    try:
        return FUNCTIONS[node.name].function(*args)
    except _ArgumentError as exc:
        raise RuntimeFailure(f"The function '{node.name}' {exc}") from None


class _ArgumentError(ValueError):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _ArgumentError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rounded(value: Any, what: str) -> int:
    """``value`` as an integer: "If you specify a non-integer value ..., Step Functions will
    round it off to the nearest integer" (halves round up, as Java's ``Math.round``)."""
    _require(_is_number(value) and math.isfinite(value), f"needs a number as its {what}")
    return value if isinstance(value, int) else math.floor(value + 0.5)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


# -- the functions -------------------------------------------------------------------------


@intrinsic("States.Format", 1, None)
def format_(template: Any, *args: Any) -> str:
    """``template`` with each unescaped ``{}`` replaced by the next argument."""
    _require(isinstance(template, str), "needs a string as its first argument")
    parts = getattr(template, "parts", None) or tuple(template.split("{}"))
    _require(
        len(parts) - 1 == len(args),
        f"has {len(parts) - 1} placeholder(s) but {len(args)} argument(s) to fill them",
    )
    pieces = [parts[0]]
    for arg, part in zip(args, parts[1:], strict=True):
        pieces += [_as_text(arg), part]
    return "".join(pieces)


@intrinsic("States.StringToJson", 1)
def string_to_json(text: Any) -> Any:
    """The JSON value ``text`` encodes."""
    _require(isinstance(text, str), "needs a string")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _ArgumentError(f"could not parse {text!r} as JSON ({exc.msg})") from None


@intrinsic("States.JsonToString", 1)
def json_to_string(value: Any) -> str:
    """``value`` as compact JSON text."""
    return json.dumps(value, separators=(",", ":"))


@intrinsic("States.Array", 0, None)
def array(*values: Any) -> list:
    """The arguments as a list."""
    return list(values)


@intrinsic("States.ArrayPartition", 2)
def array_partition(values: Any, size: Any) -> list:
    """``values`` in chunks of ``size`` (the last may be shorter)."""
    _require(isinstance(values, list), "needs an array as its first argument")
    size = _rounded(size, "chunk size")
    _require(size > 0, "needs a positive integer chunk size")
    return [values[i : i + size] for i in range(0, len(values), size)]


@intrinsic("States.ArrayContains", 2)
def array_contains(values: Any, value: Any) -> bool:
    """Whether ``value`` is in ``values``."""
    _require(isinstance(values, list), "needs an array as its first argument")
    wanted = _canonical(value)
    return any(_canonical(item) == wanted for item in values)


@intrinsic("States.ArrayRange", 3)
def array_range(start: Any, end: Any, step: Any) -> list[int]:
    """``start``, ``start + step``, ... up to and including ``end``."""
    start, end, step = (
        _rounded(v, name) for v, name in [(start, "start"), (end, "end"), (step, "step")]
    )
    _require(step != 0, "needs a non-zero step")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    _require(len(values) <= MAX_ARRAY_RANGE, f"would make more than {MAX_ARRAY_RANGE} items")
    return values


@intrinsic("States.ArrayGetItem", 2)
def array_get_item(values: Any, index: Any) -> Any:
    """``values[index]``."""
    _require(isinstance(values, list), "needs an array as its first argument")
    _require(_is_int(index) and 0 <= index < len(values), f"has no item at index {index!r}")
    return values[index]


@intrinsic("States.ArrayLength", 1)
def array_length(values: Any) -> int:
    """The number of items in ``values``."""
    _require(isinstance(values, list), "needs an array")
    return len(values)


@intrinsic("States.ArrayUnique", 1)
def array_unique(values: Any) -> list:
    """``values`` without repeats, first occurrences kept in order."""
    _require(isinstance(values, list), "needs an array")
    unique = {}
    for value in values:
        unique.setdefault(_canonical(value), value)
    return list(unique.values())


@intrinsic("States.Base64Encode", 1)
def base64_encode(text: Any) -> str:
    """The Base64 encoding of ``text``'s UTF-8 bytes."""
    _require(isinstance(text, str) and len(text) <= MAX_INPUT_CHARS, "needs a string")
    return base64.b64encode(text.encode()).decode("ascii")


@intrinsic("States.Base64Decode", 1)
def base64_decode(text: Any) -> str:
    """The UTF-8 text Base64 ``text`` encodes."""
    _require(isinstance(text, str) and len(text) <= MAX_INPUT_CHARS, "needs a string")
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _ArgumentError(f"could not decode {text!r} as Base64 text") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


@intrinsic("States.Hash", 2)
def hash_(data: Any, algorithm: Any) -> str:
    """The hex digest of ``data`` by ``algorithm`` (MD5, SHA-1, SHA-256, SHA-384, SHA-512)."""
    _require(algorithm in _HASHES, f"does not know the algorithm {algorithm!r}")
    text = _as_text(data)
    _require(len(text) <= MAX_INPUT_CHARS, f"takes at most {MAX_INPUT_CHARS} characters of data")
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


@intrinsic("States.JsonMerge", 3)
def json_merge(left: Any, right: Any, deep: Any) -> dict:
    """A shallow merge of two objects; keys of ``right`` win."""
    _require(isinstance(left, dict) and isinstance(right, dict), "needs two objects")
    _require(deep is False, "supports only a shallow merge (false as the third argument)")
    return {**left, **right}


@intrinsic("States.MathRandom", 2, 3)
def math_random(start: Any, end: Any, seed: Any = None) -> int:
    """A random integer with ``start <= n < end`` (seeded when ``seed`` is given)."""
    start, end = _rounded(start, "start"), _rounded(end, "end")
    _require(start < end, "needs a start number below its end number")
    _require(seed is None or _is_int(seed), "needs an integer seed")
    generator = random.Random(seed) if seed is not None else random
    return generator.randrange(start, end)


@intrinsic("States.MathAdd", 2)
def math_add(left: Any, right: Any) -> int:
    """``left + right``, each rounded to an integer in the 32-bit range."""
    left, right = _rounded(left, "first argument"), _rounded(right, "second argument")
    _require(
        all(INT32_MIN <= value <= INT32_MAX for value in (left, right)),
        f"needs integers between {INT32_MIN} and {INT32_MAX}",
    )
    return left + right


@intrinsic("States.StringSplit", 2)
def string_split(text: Any, separators: Any) -> list[str]:
    """``text`` split at any character of ``separators``, empty pieces dropped."""
    _require(isinstance(text, str) and isinstance(separators, str), "needs two strings")
    if not separators:
        return [text]
    pieces = re.split("[" + re.escape(separators) + "]", text)
    return [piece for piece in pieces if piece]


@intrinsic("States.UUID", 0)
def uuid_() -> str:
    """A new version 4 UUID."""
    return str(uuid.uuid4())
