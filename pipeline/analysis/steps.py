"""A run's steps: the Batch parent jobs it is made of, named and put in chain order.

Any pipeline of Batch jobs, not only this kit's: the jobs come from an execution's history
(every ``batch:submitJob`` task, ``.sync`` or not, whatever its state is called) or from
job ids given by hand, following ``dependsOn`` to the jobs they wait for. Steps are
ordered by their dependencies (a job comes after every job it depends on; independent jobs
by creation time) and named by job name, with the part every name of the run shares
dropped (``procure-wf1``, ``process-wf1`` -> ``procure``, ``process``); where job names
collide, by the submitting state's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.errors import N2NError

DESCRIBE_LIMIT = 100
"""DescribeJobs takes at most 100 job ids a call."""
_SEPARATORS = re.compile(r"([-_.:/ ]+)")


class JobsNotFound(N2NError):
    """Job ids that name no job the backend knows."""


def describe_jobs(batch: Any, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``describe_jobs`` of ``job_ids``, 100 a call: job id -> description (unknown ids are
    left out, as Batch leaves them out)."""
    ids = list(dict.fromkeys(job_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), DESCRIBE_LIMIT):
        for job in batch.describe_jobs(jobs=ids[start : start + DESCRIBE_LIMIT])["jobs"]:
            found[job["jobId"]] = job
    return found


def _dependencies(job: Mapping[str, Any]) -> list[str]:
    return [item["jobId"] for item in job.get("dependsOn") or [] if "jobId" in item]


def _dependencies_not_in(jobs: Mapping[str, Mapping[str, Any]], known: set[str]) -> set[str]:
    """The parent ids ``jobs`` depend on that are not in ``known`` (``parent:index``
    dependencies of array children name their parent)."""
    return {dep.partition(":")[0] for job in jobs.values() for dep in _dependencies(job)} - known


def with_dependencies(batch: Any, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The jobs ``job_ids`` name and, following ``dependsOn``, every job they wait for
    (dependencies Batch no longer knows are left out); one sentence naming the given ids
    no job has."""
    wanted = list(dict.fromkeys(job_ids))
    jobs = describe_jobs(batch, wanted)
    missing = [job_id for job_id in wanted if job_id not in jobs]
    if missing:
        raise JobsNotFound(
            f"No Batch job has the id {', '.join(missing)}: check the ids, the backend and "
            "the region (Batch keeps finished jobs for about 7 days)."
        )
    asked = set(wanted)
    frontier = _dependencies_not_in(jobs, asked)
    while frontier:
        asked |= frontier
        jobs.update(describe_jobs(batch, sorted(frontier)))
        frontier = _dependencies_not_in(jobs, asked)
    return jobs


def chain_order(jobs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Job ids in chain order: every job after the jobs it depends on (within ``jobs``);
    among jobs free to go, the earliest created first, then the order given."""
    position = {job_id: number for number, job_id in enumerate(jobs)}
    waiting = {
        job_id: {dep.partition(":")[0] for dep in _dependencies(job)} & set(jobs)
        for job_id, job in jobs.items()
    }
    ordered: list[str] = []
    while waiting:
        ready = [job_id for job_id, deps in waiting.items() if not deps - set(ordered)]
        if not ready:  # a cycle cannot happen in Batch; keep what is left in given order
            ready = list(waiting)
        first = min(ready, key=lambda j: (jobs[j].get("createdAt") or 0, position[j]))
        ordered.append(first)
        del waiting[first]
    return ordered


def _shared_affixes(names: list[list[str]]) -> tuple[int, int]:
    """How many leading and trailing tokens every name shares (leaving each one token)."""
    shortest = min(len(tokens) for tokens in names)
    head = 0
    while head < shortest - 1 and len({tuple(t[: head + 1]) for t in names}) == 1:
        head += 1
    tail = 0
    while head + tail < shortest - 1 and len({tuple(t[-(tail + 1) :]) for t in names}) == 1:
        tail += 1
    return head, tail


def step_names(job_names: list[str], state_names: list[str] | None = None) -> list[str]:
    """One distinct step name per job: the job names without the tokens they all share at
    their start and end (split at ``-_.:/`` and spaces); the whole job names where that
    leaves two alike; the state names where job names collide; else numbered."""
    if len(job_names) > 1:
        tokens = [[t for t in _SEPARATORS.split(name) if t] for name in job_names]
        head, tail = _shared_affixes(tokens)
        # a token list alternates word, separator: keep the separators inside, drop the edges
        short = ["".join(t[head : len(t) - tail]).strip("-_.:/ ") for t in tokens]
        if len(set(short)) == len(short) and all(short):
            return short
    if len(set(job_names)) == len(job_names):
        return list(job_names)
    if state_names and len(set(state_names)) == len(state_names) and all(state_names):
        return list(state_names)
    seen: dict[str, int] = {}
    named = []
    for name in job_names:
        seen[name] = seen.get(name, 0) + 1
        named.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return named


def steps_of(
    jobs: Mapping[str, dict[str, Any]], state_of_job: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Step name -> parent job description, in chain order."""
    order = chain_order(jobs)
    names = step_names(
        [jobs[j].get("jobName", j) for j in order],
        [(state_of_job or {}).get(j, "") for j in order],
    )
    return {name: jobs[job_id] for name, job_id in zip(names, order, strict=True)}


def dependency_mode(parents: Mapping[str, Mapping[str, Any]]) -> str | None:
    """``N_TO_N`` when every step after the first waits child by child on the one before,
    ``BARRIER`` when every one waits for whole jobs, None when mixed or unchained."""
    kinds = set()
    for job in list(parents.values())[1:]:
        items = job.get("dependsOn") or []
        if not items:
            return None
        kinds.update("N_TO_N" if item.get("type") == "N_TO_N" else "BARRIER" for item in items)
    return kinds.pop() if len(kinds) == 1 else None
