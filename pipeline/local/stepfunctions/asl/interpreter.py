"""The state loop: runs a validated definition state by state, recording history events.

Each state type has one handler (a registry by ``Type``); Task, Parallel and Map share the
Retry/Catch logic. Waits and retry intervals are compressed by ``time_scale`` and capped
by ``max_wait_s``; Task timeouts and the state machine's own ``TimeoutSeconds`` are real
seconds (the work they wait for is real).
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pipeline.local.core.arns import DEFAULT_REGION
from pipeline.local.stepfunctions.asl import choice, errors, history
from pipeline.local.stepfunctions.asl.cancellation import POLL_S, Cancellation
from pipeline.local.stepfunctions.asl.errors import (
    ExecutionAborted,
    ExecutionFailed,
    ExecutionTimedOut,
    RuntimeFailure,
    StatesError,
    error_matches,
)
from pipeline.local.stepfunctions.asl.paths import (
    apply_input_path,
    apply_output_path,
    apply_result_path,
    lookup,
)
from pipeline.local.stepfunctions.asl.templates import render, resolve
from pipeline.local.stepfunctions.asl.timestamps import (
    documented,
    format_timestamp,
    now,
    parse_timestamp,
)

Integration = Callable[[str, Any], Any]
Recorder = Callable[[str, "dict | None"], None]
INLINE_MAP_CONCURRENCY = 40
MAP_ITEM_SOURCE = "STATE_DATA"
_NOT_SET = object()


@dataclass
class _Visit:
    """One entry into a state: its name, definition, raw input and context object."""

    name: str
    state: dict
    data: Any
    context: dict
    cancel: Cancellation
    retry_count: int = 0

    def context_now(self) -> dict:
        """The context object with the current retry count."""
        return {**self.context, "State": {**self.context["State"], "RetryCount": self.retry_count}}

    def selected_input(self) -> Any:
        """The state input after InputPath."""
        return apply_input_path(self.state.get("InputPath", "$"), self.data, self.context_now())

    def filtered_output(self, data: Any) -> Any:
        """``data`` after OutputPath."""
        return apply_output_path(self.state.get("OutputPath", "$"), data, self.context_now())


class Interpreter:
    """Runs one execution of ``definition``, calling ``invoke`` for Task resources."""

    def __init__(
        self,
        definition: dict,
        invoke: Integration,
        *,
        context: dict,
        record: Recorder,
        time_scale: float = 0.01,
        stop: threading.Event | None = None,
        max_wait_s: float = 0.5,
    ) -> None:
        self.definition = definition
        self.invoke = invoke
        self.context = _with_documented_start_time(context)
        self.time_scale = time_scale
        self.max_wait_s = max_wait_s
        self._record = record
        self._record_lock = threading.Lock()
        self._stop = stop or threading.Event()
        arn = context.get("Execution", {}).get("Id", "")
        self.region = arn.split(":")[3] if arn.count(":") >= 3 else DEFAULT_REGION
        self._handlers: dict[str, Callable[[_Visit], tuple[Any, str | None]]] = {
            "Task": self._task,
            "Pass": self._pass,
            "Wait": self._wait,
            "Choice": self._choice,
            "Succeed": self._succeed,
            "Fail": self._fail,
            "Parallel": self._parallel,
            "Map": self._map,
        }

    def record(self, event_type: str, details: dict | None) -> None:
        """Hand one history event to the caller (serialized across branches)."""
        with self._record_lock:
            self._record(event_type, details)

    def run(self, execution_input: Any) -> Any:
        """Run the execution to its end; returns its output, raises ExecutionFailed or
        ExecutionAborted."""
        role = self.context.get("Execution", {}).get("RoleArn")
        started = history.data_details("input", execution_input)
        self.record("ExecutionStarted", {**started, **({"roleArn": role} if role else {})})
        root = Cancellation(self._stop)
        timed_out = threading.Event()
        deadline = self._deadline(root, timed_out)
        try:
            output = self._run_machine(self.definition, execution_input, root)
        except ExecutionAborted:
            if timed_out.is_set() and not self._stop.is_set():
                cause = (
                    "The execution ran longer than the state machine's TimeoutSeconds "
                    f"({self.definition['TimeoutSeconds']} s)"
                )
                self.record("ExecutionTimedOut", {"error": errors.TIMEOUT, "cause": cause})
                raise ExecutionTimedOut(errors.TIMEOUT, cause) from None
            self.record("ExecutionAborted", {})
            raise
        except StatesError as failure:
            self.record("ExecutionFailed", {"error": failure.error, "cause": failure.cause})
            raise ExecutionFailed(failure.error, failure.cause) from None
        finally:
            if deadline is not None:
                deadline.cancel()
        self.record("ExecutionSucceeded", history.data_details("output", output))
        return output

    def _deadline(self, root: Cancellation, timed_out: threading.Event) -> threading.Timer | None:
        """A timer that cancels the whole execution once it has run the state machine's
        top-level ``TimeoutSeconds``, counted from its start time as on AWS: "If it runs
        longer than the specified time, the execution fails with a States.Timeout Error
        name" (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html).
        Real seconds, as Task timeouts are: the work it waits for is real."""
        if "TimeoutSeconds" not in self.definition:
            return None
        start = parse_timestamp(self.context.get("Execution", {}).get("StartTime")) or now()
        age_s = (now() - start).total_seconds()

        def expire() -> None:
            timed_out.set()
            root.cancel()

        timer = threading.Timer(max(self.definition["TimeoutSeconds"] - age_s, 0), expire)
        timer.daemon = True
        timer.start()
        return timer

    # -- the loop ------------------------------------------------------------------------

    def _run_machine(self, machine: dict, data: Any, cancel: Cancellation) -> Any:
        name: str | None = machine["StartAt"]
        while name is not None:
            if cancel.is_set():
                raise ExecutionAborted()
            data, name = self._run_state(name, machine["States"][name], data, cancel)
        return data

    def _run_state(
        self, name: str, state: dict, data: Any, cancel: Cancellation
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        self.record(f"{kind}StateEntered", history.state_entered(name, data))
        entered = {"Name": name, "EnteredTime": format_timestamp(now()), "RetryCount": 0}
        visit = _Visit(name, state, data, {**self.context, "State": entered}, cancel)
        try:
            output, following = self._handlers[kind](visit)
        except ExecutionAborted:
            if f"{kind}StateAborted" in history.event_types():
                self.record(f"{kind}StateAborted", None)
            raise
        self.record(f"{kind}StateExited", history.state_exited(name, output))
        return output, following

    @staticmethod
    def _next(state: dict) -> str | None:
        return None if state.get("End") else state["Next"]

    def _sleep(self, seconds: float, cancel: Cancellation) -> None:
        """Wait ``seconds`` of state-machine time, compressed; raise when stopped."""
        if cancel.sleep(min(max(seconds, 0) * self.time_scale, self.max_wait_s)):
            raise ExecutionAborted()

    # -- input and output processing -------------------------------------------------------

    @staticmethod
    def _effective_input(visit: _Visit, template_field: str = "Parameters") -> Any:
        data = visit.selected_input()
        template = visit.state.get(template_field, _NOT_SET)
        return data if template is _NOT_SET else render(template, data, visit.context_now())

    @staticmethod
    def _output(visit: _Visit, result: Any) -> Any:
        state = visit.state
        if "ResultSelector" in state:
            result = render(state["ResultSelector"], result, visit.context_now())
        combined = apply_result_path(state.get("ResultPath", "$"), visit.data, result)
        return visit.filtered_output(combined)

    # -- Retry and Catch -------------------------------------------------------------------

    def _attempts(self, visit: _Visit, attempt: Callable[[], Any]) -> tuple[Any, str | None]:
        """Run ``attempt`` under the state's Retry, then Catch; the state's output and Next."""
        try:
            result = self._retrying(visit, attempt)
        except StatesError as failure:
            for catcher in visit.state.get("Catch", []):
                if error_matches(catcher["ErrorEquals"], failure.error):
                    error_output = {"Error": failure.error, "Cause": failure.cause}
                    path = catcher.get("ResultPath", "$")
                    return apply_result_path(path, visit.data, error_output), catcher["Next"]
            raise
        return self._output(visit, result), self._next(visit.state)

    def _retrying(self, visit: _Visit, attempt: Callable[[], Any]) -> Any:
        retriers = visit.state.get("Retry", [])
        used = [0] * len(retriers)
        while True:
            try:
                return attempt()
            except StatesError as failure:
                index = next(
                    (
                        i
                        for i, r in enumerate(retriers)
                        if error_matches(r["ErrorEquals"], failure.error)
                    ),
                    None,
                )
                if index is None or used[index] >= retriers[index].get("MaxAttempts", 3):
                    raise
                self._sleep(retry_delay(retriers[index], used[index]), visit.cancel)
                used[index] += 1
                visit.retry_count += 1

    # -- the state types ------------------------------------------------------------------

    def _pass(self, visit: _Visit) -> tuple[Any, str | None]:
        effective = self._effective_input(visit)
        result = visit.state.get("Result", effective)
        output = apply_result_path(visit.state.get("ResultPath", "$"), visit.data, result)
        return visit.filtered_output(output), self._next(visit.state)

    def _wait(self, visit: _Visit) -> tuple[Any, str | None]:
        state = visit.state
        data = visit.selected_input()
        self._sleep(self._wait_seconds(state, data, visit.context), visit.cancel)
        return visit.filtered_output(data), self._next(state)

    @staticmethod
    def _wait_seconds(state: dict, data: Any, context: dict) -> float:
        if "Seconds" in state:
            return state["Seconds"]
        if "SecondsPath" in state:
            seconds = lookup(state["SecondsPath"], data, context)
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise RuntimeFailure(
                    f"The SecondsPath value {seconds!r} is not a non-negative integer"
                )
            return seconds
        text = (
            state["Timestamp"]
            if "Timestamp" in state
            else lookup(state["TimestampPath"], data, context)
        )
        moment = parse_timestamp(text)
        if moment is None:
            raise RuntimeFailure(f"The Wait timestamp {text!r} is not an RFC 3339 timestamp")
        return (moment - now()).total_seconds()

    def _choice(self, visit: _Visit) -> tuple[Any, str | None]:
        state = visit.state
        data = visit.selected_input()
        output = visit.filtered_output(data)
        for rule in state["Choices"]:
            if choice.matches(rule, data, visit.context):
                return output, rule["Next"]
        if "Default" in state:
            return output, state["Default"]
        raise StatesError(
            errors.NO_CHOICE_MATCHED, f"No Choice rule of state '{visit.name}' matched the input"
        )

    def _succeed(self, visit: _Visit) -> tuple[Any, str | None]:
        return visit.filtered_output(visit.selected_input()), None

    def _fail(self, visit: _Visit) -> tuple[Any, str | None]:
        state = visit.state

        def field_value(name: str) -> str:
            # "When resolved, the reference path must select a field that contains a string
            # value": https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
            if f"{name}Path" not in state:
                return state.get(name, "")
            path = state[f"{name}Path"]
            value = resolve(path, visit.data, visit.context)
            if not isinstance(value, str):
                raise RuntimeFailure(
                    f"The {name}Path {path!r} of state '{visit.name}' selects "
                    f"{history.as_json(value)}, which is not a string"
                )
            return value

        raise StatesError(field_value("Error"), field_value("Cause"))

    def _task(self, visit: _Visit) -> tuple[Any, str | None]:
        state = visit.state
        events = history.TaskEvents(state["Resource"], self.region)
        timeout_s = self._seconds_field(visit, "TimeoutSeconds")
        heartbeat_s = self._seconds_field(visit, "HeartbeatSeconds")
        if not state["Resource"].endswith(".waitForTaskToken"):
            heartbeat_s = None  # only callback tasks send heartbeats; none arrive locally

        def attempt() -> Any:
            parameters = self._effective_input(visit)
            self.record(*events.scheduled(parameters, timeout_s))
            self.record(*events.started())
            try:
                result = self._call(
                    state["Resource"], parameters, timeout_s, heartbeat_s, visit.cancel
                )
            except StatesError as failure:
                timed_out = failure.error in (errors.TIMEOUT, errors.HEARTBEAT_TIMEOUT)
                self.record(*events.failed(failure.error, failure.cause, timed_out))
                raise
            self.record(*events.succeeded(result))
            return result

        return self._attempts(visit, attempt)

    @staticmethod
    def _seconds_field(visit: _Visit, name: str) -> int | None:
        if f"{name}Path" in visit.state:
            value = lookup(visit.state[f"{name}Path"], visit.data, visit.context_now())
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise RuntimeFailure(f"The {name}Path value {value!r} is not a positive integer")
            return value
        return visit.state.get(name)

    def _call(
        self,
        resource: str,
        parameters: Any,
        timeout_s: int | None,
        heartbeat_s: int | None,
        cancel: Cancellation,
    ) -> Any:
        """``invoke`` on a daemon thread, so a stop or a timeout need not wait for it."""
        future: Future = Future()

        def target() -> None:
            try:
                future.set_result(self.invoke(resource, parameters))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=target, name=f"sfn-task-{resource}", daemon=True).start()
        limits = [(s, errors.TIMEOUT) for s in (timeout_s,) if s]
        limits += [(s, errors.HEARTBEAT_TIMEOUT) for s in (heartbeat_s,) if s]
        started = time.monotonic()
        while True:
            try:
                return _task_result(future, POLL_S)
            except FutureTimeout:
                pass
            if cancel.is_set():
                raise ExecutionAborted()
            for seconds, error in sorted(limits):
                if time.monotonic() - started >= seconds:
                    raise StatesError(error, f"The task did not finish within {seconds} seconds")

    def _parallel(self, visit: _Visit) -> tuple[Any, str | None]:
        branches = visit.state["Branches"]

        def attempt() -> list:
            data = self._effective_input(visit)
            self.record("ParallelStateStarted", None)
            jobs = [functools.partial(self._run_machine, branch, data) for branch in branches]
            try:
                results = self._concurrently(jobs, len(jobs), visit.cancel)
            except StatesError:
                self.record("ParallelStateFailed", None)
                raise
            self.record("ParallelStateSucceeded", None)
            return results

        return self._attempts(visit, attempt)

    def _map(self, visit: _Visit) -> tuple[Any, str | None]:
        state = visit.state
        processor = state.get("ItemProcessor") or state["Iterator"]
        selector = "ItemSelector" if "ItemSelector" in state else "Parameters"

        def iteration(index: int, item_input: Any, cancel: Cancellation) -> Any:
            if cancel.is_set():
                raise ExecutionAborted()
            where = {"name": visit.name, "index": index}
            self.record("MapIterationStarted", where)
            try:
                output = self._run_machine(processor, item_input, cancel)
            except ExecutionAborted:
                self.record("MapIterationAborted", where)
                raise
            except StatesError:
                self.record("MapIterationFailed", where)
                raise
            self.record("MapIterationSucceeded", where)
            return output

        def attempt() -> list:
            data = visit.selected_input()
            items = lookup(state.get("ItemsPath", "$"), data, visit.context_now())
            if isinstance(items, dict):
                raise RuntimeFailure(
                    f"The ItemsPath of state '{visit.name}' selects a JSON object, and the local "
                    "backend iterates arrays only: select an array"
                )
            if not isinstance(items, list):
                shown = history.as_json(items)
                raise RuntimeFailure(f"The ItemsPath of state '{visit.name}' selects {shown}")
            inputs = [
                self._item_input(visit, selector, data, index, item)
                for index, item in enumerate(items)
            ]
            self.record("MapStateStarted", {"length": len(items)})
            jobs = [functools.partial(iteration, index, item) for index, item in enumerate(inputs)]
            limit = self._max_concurrency(visit, data) or INLINE_MAP_CONCURRENCY
            try:
                results = self._concurrently(jobs, limit, visit.cancel)
            except StatesError:
                self.record("MapStateFailed", None)
                raise
            self.record("MapStateSucceeded", None)
            return results

        return self._attempts(visit, attempt)

    @staticmethod
    def _max_concurrency(visit: _Visit, data: Any) -> int:
        """MaxConcurrency, or the non-negative integer MaxConcurrencyPath selects; 0 means no
        limit: https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html"""
        if "MaxConcurrencyPath" not in visit.state:
            return visit.state.get("MaxConcurrency", 0)
        path = visit.state["MaxConcurrencyPath"]
        value = lookup(path, data, visit.context_now())
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RuntimeFailure(
                f"The MaxConcurrencyPath {path!r} of state '{visit.name}' selects "
                f"{history.as_json(value)}, which is not a non-negative integer"
            )
        return value

    @staticmethod
    def _item_input(visit: _Visit, selector: str, data: Any, index: int, item: Any) -> Any:
        if selector not in visit.state:
            return item
        # An inline Map's items come from the state input: Source is STATE_DATA
        # (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
        where = {"Index": index, "Value": item, "Source": MAP_ITEM_SOURCE}
        return render(visit.state[selector], data, {**visit.context_now(), "Map": {"Item": where}})

    @staticmethod
    def _concurrently(
        jobs: list[Callable[[Cancellation], Any]], limit: int, cancel: Cancellation
    ) -> list:
        """Run ``jobs`` on up to ``limit`` threads; the first failure cancels the rest and is
        raised once all have ended."""
        if not jobs:
            return []
        scope = cancel.child()
        first_failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=min(limit, len(jobs))) as pool:
            futures = [pool.submit(job, scope) for job in jobs]
            for future in as_completed(futures):
                failure = future.exception()
                if (
                    failure is not None
                    and first_failure is None
                    and not isinstance(failure, ExecutionAborted)
                ):
                    first_failure = failure
                    scope.cancel()
        if cancel.is_set():
            raise ExecutionAborted()
        if first_failure is not None:
            raise first_failure
        return [future.result() for future in futures]


def _with_documented_start_time(context: dict) -> dict:
    """``context`` with ``Execution.StartTime`` in the documented ``...T10:04:42.001Z`` form,
    whatever RFC 3339 form the caller wrote it in."""
    execution = context.get("Execution", {})
    if "StartTime" not in execution:
        return context
    return {**context, "Execution": {**execution, "StartTime": documented(execution["StartTime"])}}


def _task_result(future: Future, timeout: float) -> Any:
    """The integration's result; any exception but TaskFailed becomes a task error named
    after its type, as Lambda reports an unhandled exception."""
    try:
        return future.result(timeout=timeout)
    except (StatesError, FutureTimeout):
        raise
    except Exception as exc:
        raise StatesError(type(exc).__name__, str(exc)) from exc


def retry_delay(retrier: dict, retries_so_far: int) -> float:
    """Seconds before the next retry: IntervalSeconds * BackoffRate**n, capped by
    MaxDelaySeconds, randomized under JitterStrategy FULL."""
    delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** retries_so_far
    if "MaxDelaySeconds" in retrier:
        delay = min(delay, retrier["MaxDelaySeconds"])
    if retrier.get("JitterStrategy") == "FULL":
        delay = random.uniform(0, delay)
    return delay
