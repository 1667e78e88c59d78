"""The local ``batch`` client: AWS Batch's API over the engine's tables.

Registrations and submissions are written here; the engine (in the background runner)
runs the jobs. Responses have the API's output shapes; errors are ``ClientException``.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.local.batch.doorbell import ring
from pipeline.local.batch.models import (
    MAX_ARRAY_SIZE,
    MAX_DEPENDENCIES,
    MIN_ARRAY_SIZE,
    STATUSES,
    effective_container,
)
from pipeline.local.batch.schema import batch_database, bump_config
from pipeline.local.core.arns import DEFAULT_REGION, arn_prefix
from pipeline.local.core.client import LocalClient, service_model
from pipeline.local.core.clock import now_ms
from pipeline.local.runner import ensure_runner

DEFAULT_PAGE = 100
LIST_JOBS_PAGE = 1000

JOB_FIELDS = ("parameters", "tags", "propagateTags", "platformCapabilities")
"""Submission fields a job description echoes, falling back to the job definition's."""


def _container_fields() -> frozenset[str]:
    return frozenset(service_model("batch").shape_for("ContainerDetail").members)


def _name_filter(values: list[str]) -> Callable[[str], bool]:
    def matches(name: str) -> bool:
        return any(name.startswith(v[:-1]) if v.endswith("*") else name == v for v in values)

    return matches


class BatchClient(LocalClient):
    """boto3's ``batch`` client, local."""

    service_name = "batch"
    invalid_token_code = "ClientException"

    def __init__(self, home: Path, region: str = DEFAULT_REGION) -> None:
        super().__init__(home, region)
        self._db = batch_database(self.home)

    # -- helpers -------------------------------------------------------------------------

    def _page(self, operation: str, items: list, params: dict, default: int) -> tuple[list, dict]:
        """One page of ``items`` and the ``nextToken`` entry (if more remain)."""
        return self.page(
            operation, items, params.get("nextToken"), params.get("maxResults") or default
        )

    def _regional(self) -> tuple[str, str]:
        """SQL matching an ``arn`` column of this client's region, and its argument."""
        prefix = arn_prefix("batch", self.region)
        return f"substr(arn, 1, {len(prefix)}) = ?", prefix

    def _job(self, job_id: str) -> Any:
        """The job row with this id when its job definition is in this client's region."""
        prefix = arn_prefix("batch", self.region)
        return self._db.execute(
            "SELECT * FROM jobs WHERE job_id = ? AND substr(definition, 1, ?) = ?",
            (job_id, len(prefix), prefix),
        ).fetchone()

    def _find(self, table: str, ref: str) -> dict | None:
        regional, prefix = self._regional()
        row = self._db.execute(
            f"SELECT doc FROM {table} WHERE (name = ? OR arn = ?) AND {regional}",
            (ref, ref, prefix),
        )
        found = row.fetchone()
        return json.loads(found[0]) if found else None

    def _require(self, operation: str, table: str, ref: str, what: str) -> dict:
        doc = self._find(table, ref)
        if doc is None:
            raise self.error(operation, "ClientException", f"{what} {ref} does not exist.")
        return doc

    def _store(self, operation: str, table: str, key: str, doc: dict, new: bool) -> None:
        """Insert (``new``) or replace a compute environment or queue ``doc``; ``key`` is
        its field prefix (``computeEnvironment`` | ``jobQueue``)."""
        try:
            with self._db.transaction():
                verb = "INSERT" if new else "REPLACE"
                self._db.execute(
                    f"{verb} INTO {table} (name, arn, doc) VALUES (?, ?, ?)",
                    (doc[f"{key}Name"], doc[f"{key}Arn"], json.dumps(doc)),
                )
                bump_config(self._db)
        except sqlite3.IntegrityError:
            raise self.error(operation, "ClientException", "Object already exists.") from None

    def _delete(self, table: str, name: str) -> None:
        with self._db.transaction():
            self._db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
            bump_config(self._db)

    def _describe(
        self, operation: str, table: str, refs: list[str] | None, key: str, params: dict
    ) -> dict:
        regional, prefix = self._regional()
        docs = [
            json.loads(r[0])
            for r in self._db.execute(
                f"SELECT doc FROM {table} WHERE {regional} ORDER BY name", (prefix,)
            )
        ]
        if refs:
            wanted = set(refs)
            docs = [d for d in docs if wanted & {d.get(f"{key}Name"), d.get(f"{key}Arn")}]
        page, more = self._page(operation, docs, params, DEFAULT_PAGE)
        return {f"{key}s": page, **more}

    # -- compute environments ------------------------------------------------------------

    def create_compute_environment(self, **params: Any) -> dict:
        """Register a compute environment; ``computeResources.maxvCpus`` is its capacity."""
        self.validate("CreateComputeEnvironment", params)
        name = params["computeEnvironmentName"]
        if params["type"] == "MANAGED" and "computeResources" not in params:
            raise self.error(
                "CreateComputeEnvironment",
                "ClientException",
                "A MANAGED compute environment needs computeResources.",
            )
        arn = self.arn("batch", f"compute-environment/{name}")
        doc = {
            "computeEnvironmentName": name,
            "computeEnvironmentArn": arn,
            "ecsClusterArn": self.arn("ecs", f"cluster/{name}"),
            "tags": params.get("tags", {}),
            "type": params["type"],
            "state": params.get("state", "ENABLED"),
            "status": "VALID",
            "statusReason": "ComputeEnvironment Healthy",
            "uuid": str(uuid.uuid4()),
            "containerOrchestrationType": "ECS",
        }
        for key in ("computeResources", "serviceRole", "unmanagedvCpus"):
            if key in params:
                doc[key] = copy.deepcopy(params[key])
        self._store(
            "CreateComputeEnvironment", "compute_environments", "computeEnvironment", doc, new=True
        )
        return {"computeEnvironmentName": name, "computeEnvironmentArn": arn}

    def update_compute_environment(self, **params: Any) -> dict:
        """Change a compute environment's state, capacity or service role."""
        self.validate("UpdateComputeEnvironment", params)
        doc = self._require(
            "UpdateComputeEnvironment",
            "compute_environments",
            params["computeEnvironment"],
            "Compute environment",
        )
        for key in ("state", "serviceRole", "unmanagedvCpus"):
            if key in params:
                doc[key] = params[key]
        if "computeResources" in params:
            doc.setdefault("computeResources", {}).update(copy.deepcopy(params["computeResources"]))
        self._store(
            "UpdateComputeEnvironment", "compute_environments", "computeEnvironment", doc, new=False
        )
        return {
            "computeEnvironmentName": doc["computeEnvironmentName"],
            "computeEnvironmentArn": doc["computeEnvironmentArn"],
        }

    def delete_compute_environment(self, **params: Any) -> dict:
        """Delete a compute environment no job queue uses."""
        self.validate("DeleteComputeEnvironment", params)
        operation = "DeleteComputeEnvironment"
        doc = self._require(
            operation, "compute_environments", params["computeEnvironment"], "Compute environment"
        )
        for (queue_doc,) in self._db.execute("SELECT doc FROM job_queues"):
            orders = json.loads(queue_doc)["computeEnvironmentOrder"]
            if any(o["computeEnvironment"] == doc["computeEnvironmentArn"] for o in orders):
                raise self.error(
                    operation,
                    "ClientException",
                    "Cannot delete, found existing JobQueue relationship.",
                )
        self._delete("compute_environments", doc["computeEnvironmentName"])
        return {}

    def describe_compute_environments(self, **params: Any) -> dict:
        """Describe compute environments (all, or those named), paginated."""
        self.validate("DescribeComputeEnvironments", params)
        return self._describe(
            "DescribeComputeEnvironments",
            "compute_environments",
            params.get("computeEnvironments"),
            "computeEnvironment",
            params,
        )

    # -- job queues ----------------------------------------------------------------------

    def _environment_order(self, operation: str, orders: list[dict]) -> list[dict]:
        return [
            {
                "order": order["order"],
                "computeEnvironment": self._require(
                    operation,
                    "compute_environments",
                    order["computeEnvironment"],
                    "Compute environment",
                )["computeEnvironmentArn"],
            }
            for order in orders
        ]

    def create_job_queue(self, **params: Any) -> dict:
        """Register a job queue served by its compute environments in order."""
        self.validate("CreateJobQueue", params)
        name = params["jobQueueName"]
        arn = self.arn("batch", f"job-queue/{name}")
        doc = {
            "jobQueueName": name,
            "jobQueueArn": arn,
            "state": params.get("state", "ENABLED"),
            "status": "VALID",
            "statusReason": "JobQueue Healthy",
            "priority": params["priority"],
            "computeEnvironmentOrder": self._environment_order(
                "CreateJobQueue", params.get("computeEnvironmentOrder", [])
            ),
            "tags": params.get("tags", {}),
            "jobQueueType": params.get("jobQueueType", "ECS"),
        }
        # jobStateTimeLimitActions are kept for describe_job_queues but never fire: the
        # engine does not model the blocked RUNNABLE states they act on (README).
        for key in ("schedulingPolicyArn", "jobStateTimeLimitActions"):
            if key in params:
                doc[key] = copy.deepcopy(params[key])
        self._store("CreateJobQueue", "job_queues", "jobQueue", doc, new=True)
        return {"jobQueueName": name, "jobQueueArn": arn}

    def update_job_queue(self, **params: Any) -> dict:
        """Change a job queue's state, priority or compute environments."""
        self.validate("UpdateJobQueue", params)
        doc = self._require("UpdateJobQueue", "job_queues", params["jobQueue"], "Job queue")
        for key in ("state", "priority", "schedulingPolicyArn", "jobStateTimeLimitActions"):
            if key in params:
                doc[key] = params[key]
        if "computeEnvironmentOrder" in params:
            doc["computeEnvironmentOrder"] = self._environment_order(
                "UpdateJobQueue", params["computeEnvironmentOrder"]
            )
        self._store("UpdateJobQueue", "job_queues", "jobQueue", doc, new=False)
        return {"jobQueueName": doc["jobQueueName"], "jobQueueArn": doc["jobQueueArn"]}

    def delete_job_queue(self, **params: Any) -> dict:
        """Delete a job queue."""
        self.validate("DeleteJobQueue", params)
        doc = self._require("DeleteJobQueue", "job_queues", params["jobQueue"], "Job queue")
        self._delete("job_queues", doc["jobQueueName"])
        return {}

    def describe_job_queues(self, **params: Any) -> dict:
        """Describe job queues (all, or those named), paginated."""
        self.validate("DescribeJobQueues", params)
        return self._describe(
            "DescribeJobQueues", "job_queues", params.get("jobQueues"), "jobQueue", params
        )

    # -- job definitions -----------------------------------------------------------------

    def register_job_definition(self, **params: Any) -> dict:
        """Register the next revision of a job definition."""
        self.validate("RegisterJobDefinition", params)
        name = params["jobDefinitionName"]
        with self._db.transaction():
            revision = self._db.execute(
                "SELECT coalesce(max(revision), 0) + 1 FROM job_definitions WHERE name = ?",
                (name,),
            ).fetchone()[0]
            arn = self.arn("batch", f"job-definition/{name}:{revision}")
            doc = {
                **copy.deepcopy(params),
                "jobDefinitionArn": arn,
                "revision": revision,
                "status": "ACTIVE",
                "containerOrchestrationType": "ECS",
            }
            self._db.execute(
                "INSERT INTO job_definitions (arn, name, revision, status, doc)"
                " VALUES (?, ?, ?, 'ACTIVE', ?)",
                (arn, name, revision, json.dumps(doc)),
            )
        return {"jobDefinitionName": name, "jobDefinitionArn": arn, "revision": revision}

    def _definition(self, operation: str, ref: str, active_only: bool = False) -> dict:
        name, _, revision = ref.rpartition("job-definition/")[2].partition(":")
        regional, prefix = self._regional()
        query = f"SELECT doc FROM job_definitions WHERE name = ? AND {regional}"
        args: list[Any] = [name, prefix]
        if revision:
            query += " AND revision = ?"
            args.append(int(revision) if revision.isdigit() else -1)
        else:
            query += " AND status = 'ACTIVE'"
        row = self._db.execute(query + " ORDER BY revision DESC LIMIT 1", args).fetchone()
        doc = json.loads(row[0]) if row else None
        if doc is None or (active_only and doc["status"] != "ACTIVE"):
            raise self.error(operation, "ClientException", f"Job definition {ref} does not exist.")
        return doc

    def deregister_job_definition(self, **params: Any) -> dict:
        """Mark a job definition revision INACTIVE."""
        self.validate("DeregisterJobDefinition", params)
        doc = self._definition("DeregisterJobDefinition", params["jobDefinition"])
        doc["status"] = "INACTIVE"
        with self._db.transaction():
            self._db.execute(
                "UPDATE job_definitions SET status = 'INACTIVE', doc = ? WHERE arn = ?",
                (json.dumps(doc), doc["jobDefinitionArn"]),
            )
        return {}

    def describe_job_definitions(self, **params: Any) -> dict:
        """Describe job definitions by name, ARN, name:revision or status, paginated."""
        self.validate("DescribeJobDefinitions", params)
        regional, prefix = self._regional()
        rows = self._db.execute(
            f"SELECT doc FROM job_definitions WHERE {regional} ORDER BY name, revision", (prefix,)
        )
        docs = [json.loads(r[0]) for r in rows]
        if params.get("jobDefinitions"):
            wanted = set(params["jobDefinitions"])
            docs = [
                d
                for d in docs
                if wanted & {d["jobDefinitionArn"], f"{d['jobDefinitionName']}:{d['revision']}"}
                or (d["jobDefinitionName"] in wanted and d["status"] == "ACTIVE")
            ]
        if params.get("jobDefinitionName"):
            docs = [d for d in docs if d["jobDefinitionName"] == params["jobDefinitionName"]]
        if params.get("status"):
            docs = [d for d in docs if d["status"] == params["status"]]
        page, more = self._page("DescribeJobDefinitions", docs, params, DEFAULT_PAGE)
        return {"jobDefinitions": page, **more}

    # -- jobs ----------------------------------------------------------------------------

    def _check_dependencies(self, params: dict, size: int | None) -> None:
        operation = "SubmitJob"
        dependencies = params.get("dependsOn", [])
        if len(dependencies) > MAX_DEPENDENCIES:
            raise self.error(
                operation,
                "ClientException",
                f"A job can depend on at most {MAX_DEPENDENCIES} jobs.",
            )
        for dependency in dependencies:
            kind, job_id = dependency.get("type"), dependency.get("jobId")
            if kind in ("N_TO_N", "SEQUENTIAL") and size is None:
                raise self.error(
                    operation,
                    "ClientException",
                    f"A {kind} dependency needs an array job (set arrayProperties.size).",
                )
            if job_id is None:
                if kind != "SEQUENTIAL":
                    raise self.error(operation, "ClientException", "A dependency needs a jobId.")
                continue
            row = self._job(job_id)
            if row is None:
                raise self.error(operation, "ClientException", f"Dependent job {job_id} not found.")
            if kind == "N_TO_N" and row["array_size"] != size:
                raise self.error(
                    operation,
                    "ClientException",
                    f"An N_TO_N dependency needs job {job_id} to be an array of the same size"
                    f" ({size}).",
                )

    def submit_job(self, **params: Any) -> dict:
        """Submit a job (an array job when ``arrayProperties.size`` is set)."""
        self.validate("SubmitJob", params)
        operation = "SubmitJob"
        queue = self._require(operation, "job_queues", params["jobQueue"], "Job queue")
        definition = self._definition(operation, params["jobDefinition"], active_only=True)
        size = (params.get("arrayProperties") or {}).get("size")
        if size is not None and not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
            raise self.error(
                operation,
                "ClientException",
                f"Array size {size} is out of range: an array job needs"
                f" {MIN_ARRAY_SIZE} to {MAX_ARRAY_SIZE:,} children.",
            )
        attempts = (params.get("retryStrategy") or {}).get("attempts")
        if attempts is not None and not 1 <= attempts <= 10:
            raise self.error(operation, "ClientException", "retryStrategy.attempts must be 1..10.")
        self._check_dependencies(params, size)
        job_id = str(uuid.uuid4())
        request = {**copy.deepcopy(params), "definition": definition}
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO jobs (job_id, name, queue, definition, array_size, status,"
                " created_at, request) VALUES (?, ?, ?, ?, ?, 'SUBMITTED', ?, ?)",
                (
                    job_id,
                    params["jobName"],
                    queue["jobQueueName"],
                    definition["jobDefinitionArn"],
                    size,
                    now_ms(),
                    json.dumps(request),
                ),
            )
            if size:
                self._db.executemany(
                    "INSERT INTO children (parent_id, idx, status) VALUES (?, ?, 'SUBMITTED')",
                    ((job_id, index) for index in range(size)),
                )
        ensure_runner(self.home)
        ring(self.home)
        return {"jobArn": self._job_arn(job_id), "jobName": params["jobName"], "jobId": job_id}

    def _job_arn(self, job_id: str) -> str:
        return self.arn("batch", f"job/{job_id}")

    def _timing(self, source: Any) -> dict:
        fields = (
            ("statusReason", source["status_reason"]),
            ("startedAt", source["started_at"]),
            ("stoppedAt", source["stopped_at"]),
        )
        return {key: value for key, value in fields if value is not None}

    def _summary(self, parent_id: str) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in self._db.execute(
            "SELECT status, count(*) FROM children WHERE parent_id = ? GROUP BY status",
            (parent_id,),
        ):
            counts[status] = count
        return counts

    def _detail(self, row: Any, child: Any = None) -> dict:
        request = json.loads(row["request"])
        definition = request["definition"]
        source = child if child is not None else row
        job_id = row["job_id"] if child is None else f"{row['job_id']}:{child['idx']}"
        fields = _container_fields()
        container = {k: v for k, v in effective_container(request).items() if k in fields}
        if child is not None or row["array_size"] is None:
            container.update(json.loads(source["container"]))
        detail = {
            "jobArn": self._job_arn(job_id),
            "jobName": row["name"],
            "jobId": job_id,
            "jobQueue": self.arn("batch", f"job-queue/{row['queue']}"),
            "status": source["status"],
            "attempts": json.loads(source["attempts"]),
            "createdAt": row["created_at"],
            "dependsOn": request.get("dependsOn", []),
            "jobDefinition": row["definition"],
            "container": container,
            **self._timing(source),
        }
        for key in ("retryStrategy", "timeout", *JOB_FIELDS):
            value = request.get(key, definition.get(key))
            if value is not None:
                detail[key] = value
        # botocore's model requires startedAt; AWS leaves it out until a job starts. A job
        # that has not started reports when it ended (or was created): its empty attempts
        # list is what tells that it never ran.
        detail.setdefault("startedAt", source["stopped_at"] or row["created_at"])
        if child is not None:
            detail["arrayProperties"] = {"index": child["idx"]}
        elif row["array_size"] is not None:
            detail["arrayProperties"] = {
                "statusSummary": self._summary(row["job_id"]),
                "statusSummaryLastUpdatedAt": now_ms(),
                "size": row["array_size"],
            }
        return detail

    def describe_jobs(self, **params: Any) -> dict:
        """Describe up to 100 jobs or array children by id; unknown ids are left out."""
        self.validate("DescribeJobs", params)
        if len(params["jobs"]) > 100:
            raise self.error(
                "DescribeJobs", "ClientException", "Describe at most 100 jobs at once."
            )
        details = []
        for job_id in params["jobs"]:
            parent_id, _, index = job_id.partition(":")
            row = self._job(parent_id)
            if row is None:
                continue
            child = None
            if index:
                child = self._db.execute(
                    "SELECT * FROM children WHERE parent_id = ? AND idx = ?",
                    (parent_id, int(index) if index.isdigit() else -1),
                ).fetchone()
                if child is None:
                    continue
            details.append(self._detail(row, child))
        return {"jobs": details}

    def _job_summary(self, row: Any, child: Any = None) -> dict:
        source = child if child is not None else row
        job_id = row["job_id"] if child is None else f"{row['job_id']}:{child['idx']}"
        summary = {
            "jobArn": self._job_arn(job_id),
            "jobId": job_id,
            "jobName": row["name"],
            "createdAt": row["created_at"],
            "status": source["status"],
            "jobDefinition": row["definition"],
            **self._timing(source),
        }
        container = json.loads(source["container"])
        exit_info = {k: container[k] for k in ("exitCode", "reason") if k in container}
        if exit_info:
            summary["container"] = exit_info
        if child is not None:
            summary["arrayProperties"] = {"index": child["idx"]}
        elif row["array_size"] is not None:
            summary["arrayProperties"] = {"size": row["array_size"]}
        return summary

    def _filters(self, filters: list[dict]) -> Callable[[Any], bool]:
        tests: dict[str, Callable[[Any, list[str]], bool]] = {
            "JOB_NAME": lambda row, values: _name_filter(values)(row["name"]),
            "JOB_DEFINITION": lambda row, values: any(
                row["definition"] == v
                or row["definition"].rpartition("/")[2] == v
                or row["definition"].rpartition("/")[2].partition(":")[0] == v
                for v in values
            ),
            "BEFORE_CREATED_AT": lambda row, values: row["created_at"] < int(values[0]),
            "AFTER_CREATED_AT": lambda row, values: row["created_at"] > int(values[0]),
        }
        checks = [(tests[f["name"]], f["values"]) for f in filters if f["name"] in tests]
        return lambda row: all(test(row, values) for test, values in checks)

    def list_jobs(self, **params: Any) -> dict:
        """List a queue's jobs or an array's children, by status (default RUNNING) or by
        filters (any status), paginated with nextToken/maxResults."""
        self.validate("ListJobs", params)
        operation = "ListJobs"
        filters = params.get("filters") or []
        status = None if filters else params.get("jobStatus", "RUNNING")
        keep = self._filters(filters)
        if params.get("arrayJobId"):
            row = self._job(params["arrayJobId"])
            if row is None or not keep(row):
                items = []
            else:
                children = self._db.execute(
                    "SELECT * FROM children WHERE parent_id = ?"
                    + (" AND status = ?" if status else "")
                    + " ORDER BY idx",
                    (row["job_id"], status) if status else (row["job_id"],),
                ).fetchall()
                items = [(row, child) for child in children]
        elif params.get("jobQueue"):
            queue = self._require(operation, "job_queues", params["jobQueue"], "Job queue")
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE queue = ?"
                + (" AND status = ?" if status else "")
                + " ORDER BY created_at DESC, seq DESC",
                (queue["jobQueueName"], status) if status else (queue["jobQueueName"],),
            ).fetchall()
            items = [(row, None) for row in rows if keep(row)]
        else:
            raise self.error(
                operation, "ClientException", "Name a jobQueue or an arrayJobId to list jobs."
            )
        page, more = self._page(operation, items, params, LIST_JOBS_PAGE)
        return {"jobSummaryList": [self._job_summary(row, child) for row, child in page], **more}

    def _request(self, operation: str, params: dict, kind: str) -> dict:
        self.validate(operation, params)
        job_id = params["jobId"]
        parent_id, _, index = job_id.partition(":")
        found = self._job(parent_id)
        if found is not None and index:
            found = self._db.execute(
                "SELECT 1 FROM children WHERE parent_id = ? AND idx = ?",
                (parent_id, int(index) if index.isdigit() else -1),
            ).fetchone()
        if found is None:
            raise self.error(operation, "ClientException", f"Job {job_id} does not exist.")
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO requests (job_id, kind, reason) VALUES (?, ?, ?)",
                (job_id, kind, params["reason"]),
            )
        ensure_runner(self.home)
        ring(self.home)
        return {}

    def terminate_job(self, **params: Any) -> dict:
        """Terminate a job (all children of an array parent): running attempts are killed."""
        return self._request("TerminateJob", params, "terminate")

    def cancel_job(self, **params: Any) -> dict:
        """Cancel a job that has not started (all children of an array parent)."""
        return self._request("CancelJob", params, "cancel")
