"""Portable traces: a run's data as one file, analysed with no backend at all.

Exporting runs the analysis on a *recording* connection: every response the analysis reads
(the execution's description and history, Batch pages, log events or Logs Insights results)
is kept with the call that asked for it. Analysing a trace runs the same analysis on a
*replaying* connection that answers those calls from the file, so live and trace analysis
share one code path and give the same timeline and metrics.

The file is gzip-compressed JSON (see README, "Trace file format")::

    {"format": "n2n-trace", "version": 1,
     "header": {"kit_version", "backend", "region", "created_at", "subject", "redacted",
                "calls": {"batch.list_jobs": 30, ...}, "call_count": 45},
     "calls": [{"service", "operation", "params", "responses": [...]}, ...]}

A paginated read is one entry whose ``responses`` are its pages. Datetimes are written as
``{"$datetime": ISO 8601}``; ``ResponseMetadata`` is left out. ``--redact`` replaces every
account id and ARN, the same value by the same stand-in everywhere, so a redacted trace
still analyses.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from pipeline import __version__
from pipeline.analysis.timeline import build_timeline, job_id_list
from pipeline.errors import N2NError

TRACE_FORMAT = "n2n-trace"
TRACE_VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"
SERVICES = ("cloudformation", "sfn", "batch", "logs", "s3")
_ARN = re.compile(r"arn:(aws[\w-]*):([\w-]+):([\w-]*):(\d{12}):([\w\-/:.+=@,#]+)")
_DATETIME = "$datetime"


class TraceError(N2NError):
    """A trace file that cannot be read or does not hold what the analysis asks."""


# -- JSON form of responses ---------------------------------------------------------------


def json_ready(value: Any) -> Any:
    """``value`` as JSON-ready data: datetimes tagged, ``ResponseMetadata`` dropped."""
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def from_json_ready(value: Any) -> Any:
    """The inverse of :func:`json_ready`."""
    if isinstance(value, dict):
        if set(value) == {_DATETIME}:
            return datetime.fromisoformat(value[_DATETIME])
        return {k: from_json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_ready(item) for item in value]
    return value


def _key(service: str, operation: str, params: dict[str, Any]) -> str:
    """A call's identity: lists of names or ids compare as sets (the analysis may ask for the
    same jobs in another order, and redaction reorders sorted ARNs); a Logs Insights query's
    time window is left out (for a run still running it ends "now", which a replay cannot
    repeat)."""
    if (service, operation) == ("logs", "start_query"):
        params = {k: v for k, v in params.items() if k not in ("startTime", "endTime")}

    def canonical(value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return sorted(value)
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in value.items()}
        return value

    return json.dumps([service, operation, canonical(json_ready(params))], sort_keys=True)


# -- recording ------------------------------------------------------------------------------


class _RecordingPaginator:
    def __init__(self, paginator: Any, entry: dict[str, Any], calls: list) -> None:
        self._paginator = paginator
        self._entry = entry
        self._calls = calls

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        entry = {**self._entry, "params": json_ready(params), "responses": []}
        self._calls.append(entry)
        for page in self._paginator.paginate(**params):
            entry["responses"].append(json_ready(page))
            yield page


class _RecordingClient:
    def __init__(self, client: Any, service: str, calls: list) -> None:
        self._client = client
        self._service = service
        self._calls = calls

    def get_paginator(self, operation: str) -> _RecordingPaginator:
        entry = {"service": self._service, "operation": operation}
        return _RecordingPaginator(self._client.get_paginator(operation), entry, self._calls)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or name in ("exceptions", "meta") or not callable(attribute):
            return attribute

        def call(**params: Any) -> Any:
            response = attribute(**params)
            self._calls.append(
                {
                    "service": self._service,
                    "operation": name,
                    "params": json_ready(params),
                    "responses": [json_ready(response)],
                }
            )
            return response

        return call


class RecordingConnection:
    """A connection whose clients keep every call made through them and its responses."""

    def __init__(self, conn: Any) -> None:
        self.backend = conn.backend
        self.region = conn.region
        self.calls: list[dict[str, Any]] = []
        self._conn = conn
        self._clients: dict[str, _RecordingClient] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in SERVICES:
            raise AttributeError(name)
        if name not in self._clients:
            self._clients[name] = _RecordingClient(getattr(self._conn, name), name, self.calls)
        return self._clients[name]


# -- replaying ------------------------------------------------------------------------------


class _Exceptions:
    ClientError = ClientError


class _ReplayPaginator:
    def __init__(self, client: _ReplayClient, operation: str) -> None:
        self._client = client
        self._operation = operation

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        yield from self._client.responses(self._operation, params)


class _ReplayClient:
    exceptions = _Exceptions

    def __init__(self, trace: Trace, service: str) -> None:
        self._trace = trace
        self._service = service

    def responses(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self._trace.responses(self._service, operation, params)

    def get_paginator(self, operation: str) -> _ReplayPaginator:
        return _ReplayPaginator(self, operation)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not self._trace.has_operation(self._service, name):
            raise AttributeError(name)

        def call(**params: Any) -> Any:
            return self.responses(name, params)[0]

        return call


class Trace:
    """A read trace: its header, and the recorded responses by call."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self.header = document["header"]
        self._calls: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._operations: set[tuple[str, str]] = set()
        for call in document["calls"]:
            key = _key(call["service"], call["operation"], call["params"])
            self._calls[key].append(call["responses"])
            self._operations.add((call["service"], call["operation"]))

    @property
    def subject(self) -> dict[str, Any]:
        """What was analysed: ``{"execution_arn": ...}`` or ``{"job_ids": [...]}``."""
        return self.header["subject"]

    def has_operation(self, service: str, operation: str) -> bool:
        """Whether the analysis that wrote the trace called ``service.operation``."""
        return (service, operation) in self._operations

    def responses(self, service: str, operation: str, params: dict[str, Any]) -> list[Any]:
        """The recorded responses (pages) of the next such call; one sentence if none."""
        queue = self._calls.get(_key(service, operation, params))
        if not queue:
            raise TraceError(
                f"The trace {self.path} holds no answer to {service}.{operation} with these "
                "parameters: it was exported by another kit version or for another run; "
                "export it again."
            )
        responses = queue.popleft() if len(queue) > 1 else queue[0]
        return from_json_ready(responses)

    def connection(self) -> ReplayConnection:
        """Clients that answer from this trace."""
        return ReplayConnection(self)


class ReplayConnection:
    """A connection whose clients answer from a trace: no backend at all."""

    backend = "trace"

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.region = trace.header.get("region")
        self._clients = {service: _ReplayClient(trace, service) for service in SERVICES}

    def __getattr__(self, name: str) -> Any:
        if name in SERVICES:
            return self._clients[name]
        raise AttributeError(name)


# -- redaction ------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def redact(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every ARN's account id and resource replaced by stand-ins (the
    same ARN by the same stand-in everywhere, its service, region and resource type kept)
    and the accounts' ids replaced wherever else they appear."""
    accounts: dict[str, str] = {}
    arns: dict[str, str] = {}
    for text in _strings(document):
        for match in _ARN.finditer(text):
            partition, service, region, account, resource = match.groups()
            fake = accounts.setdefault(account, f"{len(accounts) + 1:012d}")
            kind = re.match(r"[\w-]+[/:]?", resource).group(0)
            arns.setdefault(
                match.group(0),
                f"arn:{partition}:{service}:{region}:{fake}:{kind}redacted-{len(arns) + 1}",
            )
    account_ids = re.compile(r"\b(" + "|".join(map(re.escape, accounts)) + r")\b")

    def clean(text: str) -> str:
        text = _ARN.sub(lambda match: arns[match.group(0)], text)
        return account_ids.sub(lambda match: accounts[match.group(0)], text) if accounts else text

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(document)


# -- files ----------------------------------------------------------------------------------


def _header(conn: RecordingConnection, subject: dict[str, Any], redacted: bool) -> dict:
    counts = collections.Counter(
        f"{call['service']}.{call['operation']}"
        for call in conn.calls
        for _ in call["responses"] or [None]
    )
    return {
        "kit_version": __version__,
        "backend": conn.backend,
        "region": conn.region,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subject": subject,
        "redacted": redacted,
        "calls": dict(sorted(counts.items())),
        "call_count": sum(counts.values()),
    }


def write_trace(
    conn: RecordingConnection, subject: dict[str, Any], out: str | Path, redacted: bool = False
) -> dict[str, Any]:
    """Write what ``conn`` recorded to ``out`` (whole or not at all); return the header."""
    document = {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "header": _header(conn, subject, redacted),
        "calls": conn.calls,
    }
    if redacted:
        document = redact(document)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(handle, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as zipped:
            zipped.write(json.dumps(document, separators=(",", ":")).encode())
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise
    return document["header"]


def _document(path: Path) -> Any:
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
    except FileNotFoundError:
        raise TraceError(f"There is no trace file {path}: check the path.") from None
    except IsADirectoryError:
        raise TraceError(f"{path} is a folder, not a trace file: give the .json.gz file.") from None
    if magic != GZIP_MAGIC:
        raise TraceError(
            f"{path} is not an n2n trace (not gzip-compressed): give a file that "
            "`n2n trace export` wrote."
        )
    try:
        with gzip.open(path, "rb") as zipped:
            return json.loads(zipped.read())
    except (OSError, EOFError, zlib.error, ValueError):
        raise TraceError(
            f"{path} is truncated or corrupt (its compressed JSON does not read to the end): "
            "export the trace again."
        ) from None


def _well_formed(document: dict[str, Any]) -> bool:
    header, calls = document.get("header"), document.get("calls")
    if not isinstance(header, dict) or not isinstance(calls, list):
        return False
    subject = header.get("subject")
    if not isinstance(subject, dict) or not (
        isinstance(subject.get("execution_arn"), str) or isinstance(subject.get("job_ids"), list)
    ):
        return False
    fields = (("service", str), ("operation", str), ("params", dict), ("responses", list))
    return all(
        isinstance(call, dict) and all(isinstance(call.get(k), t) for k, t in fields)
        for call in calls
    )


def read_trace(path: str | Path) -> Trace:
    """The trace at ``path``; one sentence when it is missing, not a trace, of a version this
    kit does not read, truncated or corrupt."""
    path = Path(path)
    document = _document(path)
    if not isinstance(document, dict) or document.get("format") != TRACE_FORMAT:
        raise TraceError(
            f'{path} is not an n2n trace (no "format": "{TRACE_FORMAT}"): give a file '
            "that `n2n trace export` wrote."
        )
    version = document.get("version")
    if version != TRACE_VERSION:
        writer = (document.get("header") or {}).get("kit_version", "unknown")
        raise TraceError(
            f"{path} is an n2n trace of format version {version!r}, which n2n-kit "
            f"{__version__} cannot read (it reads version {TRACE_VERSION}): use the kit "
            f"version that wrote it ({writer})."
        )
    if not _well_formed(document):
        raise TraceError(
            f"{path} is corrupt (its header or calls are not what `n2n trace export` "
            "writes): export the trace again."
        )
    return Trace(path, document)


def subject_of(execution_arn: str | None, job_ids: Iterable[str] | None) -> dict[str, Any]:
    """The trace header's ``subject``: the job ids given, else the execution."""
    return {"job_ids": list(job_ids)} if job_ids else {"execution_arn": execution_arn}


def export_trace(
    conn: Any,
    out: str | Path,
    execution_arn: str | None = None,
    job_ids: Iterable[str] | None = None,
    redacted: bool = False,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Analyse the run through a recording connection and write what it read to ``out``;
    return the trace header and the timeline."""
    recording = RecordingConnection(conn)
    job_ids = list(job_ids or [])
    timeline = build_timeline(recording, execution_arn, job_ids=job_ids)
    subject = subject_of(timeline.attrs.get("execution_arn"), job_ids)
    return write_trace(recording, subject, out, redacted), timeline


def trace_timeline(path: str | Path) -> pd.DataFrame:
    """The timeline of the run a trace holds, read through the same code as a live one."""
    trace = read_trace(path)
    subject = trace.subject
    return build_timeline(
        trace.connection(), subject.get("execution_arn"), job_ids=subject.get("job_ids")
    )


def run_timeline(
    backend: str = "local",
    stack: str = "n2n",
    execution_arn: str = "",
    job_ids: str | Iterable[str] = "",
    trace: str = "",
) -> pd.DataFrame:
    """The timeline a notebook's parameters name: a trace file (no backend at all), else
    Batch job ids, else an execution (default: the stack's latest) on ``backend``."""
    if trace:
        return trace_timeline(trace)
    from pipeline.connect import connect

    return build_timeline(
        connect(backend), execution_arn or None, stack, job_ids=job_id_list(job_ids)
    )
