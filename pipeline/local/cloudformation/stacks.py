"""CloudFormation state of the local backend: stacks, their resources and events.

A deploy reads the real template, resolves it, checks every resource before creating
anything, then creates, updates or deletes local resources in dependency order. A deploy
that fails part way undoes what it did, so no partial stack is left behind.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import N2NError, StackError
from pipeline.local.cloudformation.resources import DeployContext, provisioner
from pipeline.local.cloudformation.template import (
    ResolvedResource,
    default_namer,
    load_template,
    resolve_stack,
)
from pipeline.local.core.arns import arn_prefix
from pipeline.local.core.clock import now_ms
from pipeline.local.core.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS stacks (
    name TEXT PRIMARY KEY,
    stack_id TEXT NOT NULL,
    status TEXT NOT NULL,
    template TEXT NOT NULL,
    parameters TEXT NOT NULL,
    outputs TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER
);
CREATE TABLE IF NOT EXISTS resources (
    stack_name TEXT NOT NULL,
    logical_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (stack_name, logical_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stack_name TEXT NOT NULL,
    stack_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    logical_id TEXT NOT NULL,
    physical_id TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    timestamp_ms INTEGER NOT NULL
);
"""
JOB_DEFINITION = "AWS::Batch::JobDefinition"


class StackExists(StackError):
    """A create for a stack name that is taken."""


class NoChanges(StackError):
    """An update that would change nothing."""


@dataclass(frozen=True)
class StackRecord:
    """A stack as stored."""

    name: str
    stack_id: str
    status: str
    template: str
    parameters: dict[str, str]
    outputs: dict[str, dict[str, str]]
    description: str
    created_ms: int
    updated_ms: int | None


def _resource(record: str) -> ResolvedResource:
    return ResolvedResource(**json.loads(record))


class Stacks:
    """The CloudFormation model of one ``N2N_HOME``."""

    def __init__(self, home: Path, clients: Any, region: str, account: str) -> None:
        self.home = Path(home)
        self.clients = clients
        self.region = region
        self.account = account
        self.db = Database(self.home, "cloudformation", SCHEMA)

    def get(self, name_or_id: str) -> StackRecord | None:
        """The stack with this name or stack id, or None."""
        prefix = arn_prefix("cloudformation", self.region)
        row = self.db.execute(
            "SELECT * FROM stacks WHERE (name = ? OR stack_id = ?) AND substr(stack_id, 1, ?) = ?",
            (name_or_id, name_or_id, len(prefix), prefix),
        ).fetchone()
        if row is None:
            return None
        fields = dict(row)
        fields["parameters"] = json.loads(fields["parameters"])
        fields["outputs"] = json.loads(fields["outputs"])
        return StackRecord(**fields)

    def names(self) -> list[str]:
        """The name of every stack in this region."""
        prefix = arn_prefix("cloudformation", self.region)
        rows = self.db.execute(
            "SELECT name FROM stacks WHERE substr(stack_id, 1, ?) = ? ORDER BY name",
            (len(prefix), prefix),
        )
        return [row["name"] for row in rows]

    def resources(self, name: str) -> list[tuple[ResolvedResource, str, int]]:
        """The stack's resources in creation order, with status and update time."""
        rows = self.db.execute(
            "SELECT record, status, updated_ms FROM resources WHERE stack_name = ? "
            "ORDER BY position",
            (name,),
        )
        return [(_resource(r["record"]), r["status"], r["updated_ms"]) for r in rows]

    def events(self, name: str) -> list[dict[str, Any]]:
        """The stack's events, newest first."""
        rows = self.db.execute(
            "SELECT * FROM events WHERE stack_name = ? ORDER BY seq DESC", (name,)
        )
        return [dict(row) for row in rows]

    def deploy(
        self, name: str, body: str, parameters: dict[str, str], *, update: bool
    ) -> StackRecord:
        """Create (or update) the stack from ``body``; raise StackError saying what to change."""
        existing = self.get(name)
        if update and existing is None:
            raise StackError(f"Stack with id {name} does not exist")
        elsewhere = self._region_holding(name)
        if not update and existing is None and elsewhere:
            raise StackExists(
                f"Stack [{name}] already exists in {elsewhere} under this N2N_HOME: the local "
                "backend keeps one stack per name, so delete it there or choose another name"
            )
        if not update and existing is not None:
            raise StackExists(f"Stack [{name}] already exists")
        stack_id = existing.stack_id if existing else self._stack_id(name)
        old = {r.logical_id: r for r, _, _ in self.resources(name)}
        resolved = resolve_stack(
            load_template(body),
            name,
            parameters,
            namer=self._namer(name, old),
            region=self.region,
            account=self.account,
            stack_id=stack_id,
        )
        context = DeployContext(self.home, self.clients, resolved.resources)
        new = resolved.resources
        for resource in new.values():
            provisioner(resource).check(resource, context)
        changed = {key for key in new.keys() & old.keys() if asdict(old[key]) != asdict(new[key])}
        added = new.keys() - old.keys()
        removed = [r for key, r in old.items() if key not in new]
        if update and not (changed or added or removed) and existing.template == body:
            raise NoChanges("No updates are to be performed.")
        verb = "UPDATE" if update else "CREATE"
        self._event(name, stack_id, f"{verb}_IN_PROGRESS")
        done: list[ResolvedResource] = []
        try:
            for resource in new.values():
                if resource.logical_id in added:
                    self._event(name, stack_id, "CREATE_IN_PROGRESS", resource)
                    provisioner(resource).create(resource, context)
                    done.append(resource)
                    self._event(name, stack_id, "CREATE_COMPLETE", resource)
                elif resource.logical_id in changed:
                    provisioner(resource).update(old[resource.logical_id], resource, context)
                    self._event(name, stack_id, "UPDATE_COMPLETE", resource)
        except N2NError as error:
            undo = DeployContext(self.home, self.clients, {**old, **new})
            for resource in reversed(done):
                provisioner(resource).delete(resource, undo, purge=True)
            if existing is None:
                self._forget(name)
            raise StackError(str(error)) from None
        cleanup = DeployContext(self.home, self.clients, {**old, **new})
        for resource in reversed(removed):
            provisioner(resource).delete(resource, cleanup, purge=False)
        self._store(name, stack_id, f"{verb}_COMPLETE", body, resolved, existing)
        self._event(name, stack_id, f"{verb}_COMPLETE")
        return self.get(name)

    def delete(self, name: str, *, purge: bool = False) -> list[ResolvedResource]:
        """Delete the stack's local resources (retained data stays unless ``purge``)."""
        record = self.get(name)
        if record is None:
            return []
        resources = [r for r, _, _ in self.resources(name)]
        context = DeployContext(self.home, self.clients, {r.logical_id: r for r in resources})
        for resource in reversed(resources):
            provisioner(resource).delete(resource, context, purge)
        self._forget(name)
        return resources

    def _region_holding(self, name: str) -> str | None:
        row = self.db.execute("SELECT stack_id FROM stacks WHERE name = ?", (name,)).fetchone()
        return row["stack_id"].split(":")[3] if row else None

    def _stack_id(self, name: str) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name}/{uuid.uuid4()}"

    def _namer(self, name: str, old: dict[str, ResolvedResource]):
        base = default_namer(name, region=self.region, account=self.account)

        def namer(logical_id: str, resource_type: str, properties: dict[str, Any]):
            physical, attributes = base(logical_id, resource_type, properties)
            if resource_type != JOB_DEFINITION:
                return physical, attributes
            previous = old.get(logical_id)
            if previous is not None and previous.properties == properties:
                return previous.physical_id, previous.attributes
            unrevised = physical.rsplit(":", 1)[0]
            arn = f"{unrevised}:{self._next_revision(unrevised.rsplit('/', 1)[-1])}"
            return arn, {key: arn for key in attributes}

        return namer

    def _next_revision(self, job_definition_name: str) -> int:
        pages = self.clients.batch.get_paginator("describe_job_definitions").paginate(
            jobDefinitionName=job_definition_name
        )
        revisions = [d["revision"] for page in pages for d in page["jobDefinitions"]]
        return max(revisions, default=0) + 1

    def _store(self, name, stack_id, status, body, resolved, existing) -> None:
        outputs = {
            key: {"value": value, "description": resolved.output_descriptions.get(key, "")}
            for key, value in resolved.outputs.items()
        }
        now = now_ms()
        with self.db.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO stacks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    stack_id,
                    status,
                    body,
                    json.dumps(resolved.parameters),
                    json.dumps(outputs),
                    resolved.description,
                    existing.created_ms if existing else now,
                    now if existing else None,
                ),
            )
            self.db.execute("DELETE FROM resources WHERE stack_name = ?", (name,))
            self.db.executemany(
                "INSERT INTO resources VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (name, r.logical_id, i, json.dumps(asdict(r)), f"{status}", now)
                    for i, r in enumerate(resolved.resources.values())
                ],
            )

    def _forget(self, name: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM stacks WHERE name = ?", (name,))
            self.db.execute("DELETE FROM resources WHERE stack_name = ?", (name,))
            self.db.execute("DELETE FROM events WHERE stack_name = ?", (name,))

    def _event(
        self, name: str, stack_id: str, status: str, resource: ResolvedResource | None = None
    ) -> None:
        """Record a stack event: of ``resource``, or of the stack itself."""
        logical_id, physical_id, kind = (
            (resource.logical_id, resource.physical_id, resource.type)
            if resource
            else (name, stack_id, "AWS::CloudFormation::Stack")
        )
        if status == "CREATE_IN_PROGRESS" and resource:
            physical_id = ""
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO events (stack_name, stack_id, event_id, logical_id, physical_id,"
                " type, status, timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    stack_id,
                    str(uuid.uuid4()),
                    logical_id,
                    physical_id,
                    kind,
                    status,
                    now_ms(),
                ),
            )
