"""Compute environments and job queues: who may run next, and where.

Each compute environment is its own fleet: a unit of ``v`` vCPUs uses ``v`` of its
``maxvCpus``, and at most ``max_workers`` units of one environment run at once. Queues
are served in priority order (higher first); within a queue, RUNNABLE units leave in
FIFO order (created, submitted, array index) onto the first environment with room.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.local.batch.models import Unit


@dataclass
class ComputeEnvironment:
    """One compute environment's capacity and what it currently runs."""

    name: str
    enabled: bool = True
    max_vcpus: float = math.inf
    max_workers: int = 1
    used_vcpus: float = 0.0
    running: int = 0

    def fits(self, vcpus: float) -> bool:
        """Whether a unit of ``vcpus`` can start now."""
        return self.running < self.max_workers and self._has_room(vcpus, self.used_vcpus)

    def fits_in_place_of(self, freed_vcpus: float, vcpus: float) -> bool:
        """Whether a unit of ``vcpus`` can take the slot of a running unit of ``freed_vcpus``
        once that one ends."""
        return self._has_room(vcpus, self.used_vcpus - freed_vcpus)

    def _has_room(self, vcpus: float, used_vcpus: float) -> bool:
        return self.enabled and used_vcpus + vcpus <= self.max_vcpus + 1e-9

    def acquire(self, vcpus: float) -> None:
        """Account for a unit that starts."""
        self.running += 1
        self.used_vcpus += vcpus

    def release(self, vcpus: float) -> None:
        """Account for a unit that stopped."""
        self.running -= 1
        self.used_vcpus = max(0.0, self.used_vcpus - vcpus)


@dataclass
class JobQueue:
    """One job queue: its settings and its RUNNABLE units in dispatch order."""

    name: str
    enabled: bool = False
    priority: int = 0
    environments: list[ComputeEnvironment] = field(default_factory=list)
    runnable: list[tuple[tuple[int, int, int], Unit]] = field(default_factory=list)

    def push(self, unit: Unit) -> None:
        """Queue a unit that became RUNNABLE."""
        heapq.heappush(self.runnable, (unit.order, unit))

    def take(self, unit: Unit) -> None:
        """Remove ``unit``, the head, from the queue (it is leaving RUNNABLE)."""
        if self.head() is unit:
            heapq.heappop(self.runnable)

    def head(self) -> Unit | None:
        """The next RUNNABLE unit, dropping entries that left RUNNABLE meanwhile."""
        while self.runnable and self.runnable[0][1].status != "RUNNABLE":
            heapq.heappop(self.runnable)
        return self.runnable[0][1] if self.runnable else None


def _max_vcpus(doc: dict[str, Any]) -> float:
    resources = doc.get("computeResources") or {}
    value = resources.get("maxvCpus", doc.get("unmanagedvCpus"))
    return math.inf if value is None else float(value)


class Slots:
    """The compute environments and queues as registered, with their live usage."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.environments: dict[str, ComputeEnvironment] = {}
        self.queues: dict[str, JobQueue] = {}
        self._order: list[JobQueue] = []

    def load(
        self, environments: Iterable[dict[str, Any]], queues: Iterable[dict[str, Any]]
    ) -> None:
        """Apply the registered compute environments and queues, keeping live usage."""
        by_arn: dict[str, ComputeEnvironment] = {}
        for doc in environments:
            name = doc["computeEnvironmentName"]
            environment = self.environments.setdefault(name, ComputeEnvironment(name))
            environment.enabled = doc.get("state", "ENABLED") == "ENABLED"
            environment.max_vcpus = _max_vcpus(doc)
            environment.max_workers = self.max_workers
            by_arn[doc["computeEnvironmentArn"]] = environment
        for doc in queues:
            queue = self.queues.setdefault(doc["jobQueueName"], JobQueue(doc["jobQueueName"]))
            queue.enabled = doc.get("state", "ENABLED") == "ENABLED"
            queue.priority = int(doc.get("priority", 0))
            orders = sorted(doc.get("computeEnvironmentOrder", []), key=lambda o: o["order"])
            queue.environments = [
                by_arn[o["computeEnvironment"]] for o in orders if o["computeEnvironment"] in by_arn
            ]
        self._order = sorted(self.queues.values(), key=lambda q: -q.priority)

    def most_running(self) -> int:
        """The most units the enabled compute environments can run at once."""
        return sum(e.max_workers for e in self.environments.values() if e.enabled)

    def queue(self, name: str) -> JobQueue:
        """The queue named ``name`` (a placeholder until it is registered)."""
        if name not in self.queues:
            self.queues[name] = JobQueue(name)
            self._order = sorted(self.queues.values(), key=lambda q: -q.priority)
        return self.queues[name]

    def successor(
        self, environment: ComputeEnvironment, freed_vcpus: float
    ) -> tuple[Unit, JobQueue] | None:
        """The RUNNABLE unit (and its queue) that would take the place of a unit of
        ``freed_vcpus`` on ``environment`` when that unit ends: the head of the first enabled
        queue, by priority, that ``environment`` serves, if it fits there then."""
        for queue in self._order:
            if not queue.enabled or all(e is not environment for e in queue.environments):
                continue
            unit = queue.head()
            if unit is None:
                continue
            if environment.fits_in_place_of(freed_vcpus, unit.job.spec.vcpus):
                return unit, queue
            return None
        return None

    def placements(self) -> Iterator[tuple[Unit, ComputeEnvironment, JobQueue]]:
        """Units that can start now with their environment; the caller starts each one
        (acquiring its capacity) before asking for the next."""
        for queue in self._order:
            if not queue.enabled:
                continue
            while (unit := queue.head()) is not None:
                vcpus = unit.job.spec.vcpus
                environment = next((e for e in queue.environments if e.fits(vcpus)), None)
                if environment is None:
                    break
                heapq.heappop(queue.runnable)
                yield unit, environment, queue
