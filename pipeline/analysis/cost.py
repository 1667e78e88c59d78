"""What a run's children cost: Fargate's bill and the vCPU-seconds they used.

Two numbers, because they answer different questions. Fargate bills each task's own
seconds with a one-minute minimum, so children that last milliseconds all bill the
minimum and runs of the same size cost the same whatever they did; the vCPU-seconds
actually used (run time x the job's vCPUs) show what the work took.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.analysis.timeline import step_names

# us-east-1 AWS Fargate, Linux/x86, on-demand: $0.04048 per vCPU-hour and $0.004445 per
# GB-hour, billed per second with a one-minute minimum. Source:
# https://aws.amazon.com/fargate/pricing/ (the ECS pricing page's worked example quotes the
# same $0.000011244 per vCPU-second: https://aws.amazon.com/ecs/pricing/).
FARGATE_PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "platform": "AWS Fargate Linux/x86 on-demand",
    "usd_per_vcpu_hour": 0.04048,
    "usd_per_gb_hour": 0.004445,
    "minimum_billed_s": 60.0,
    "source": "https://aws.amazon.com/fargate/pricing/",
}
DEFAULT_RESOURCES: dict[str, float] = {"vcpus": 1.0, "memory_mib": 2048.0}


def resources_used(
    timeline: pd.DataFrame, resources: Mapping[str, Mapping[str, float]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per step: vcpus and memory_mib from ``resources``, else ``timeline.attrs``, else the
    default (1 vCPU, 2 GiB), with the ``source`` that gave them."""
    sources = {"argument": resources or {}, "timeline": timeline.attrs.get("resources") or {}}
    chosen: dict[str, dict[str, Any]] = {}
    for step in step_names(timeline):
        source, given = next(
            ((name, table[step]) for name, table in sources.items() if step in table),
            ("default", {}),
        )
        values = {key: float(given.get(key, value)) for key, value in DEFAULT_RESOURCES.items()}
        chosen[step] = {**values, "source": source}
    return chosen


def child_rates(
    used: Mapping[str, Mapping[str, Any]], prices: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """Per step: USD per second of one child holding its vCPUs and memory."""
    prices = {**FARGATE_PRICES, **(prices or {})}
    return {
        step: (
            values["vcpus"] * prices["usd_per_vcpu_hour"]
            + values["memory_mib"] / 1024 * prices["usd_per_gb_hour"]
        )
        / 3600
        for step, values in used.items()
    }


def estimated_cost(
    timeline: pd.DataFrame,
    resources: Mapping[str, Mapping[str, float]] | None = None,
    prices: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every child that ran (failed ones too): ``total_usd``, Fargate's bill (billed seconds
    = run_s, at least ``minimum_billed_s``, x the per-second price of its vCPUs and memory),
    and ``vcpu_s``, the vCPU-seconds used (run_s x vCPUs, no minimum); each also by step."""
    prices = {**FARGATE_PRICES, **(prices or {})}
    used = resources_used(timeline, resources)
    rates = child_rates(used, prices)
    usd, vcpu_s = {}, {}
    for step in used:
        run_s = timeline.loc[timeline["step"] == step, "run_s"].dropna()
        usd[step] = float(run_s.clip(lower=prices["minimum_billed_s"]).sum() * rates[step])
        vcpu_s[step] = float(run_s.sum() * used[step]["vcpus"])
    return {
        "total_usd": math.fsum(usd.values()),
        "by_step_usd": usd,
        "vcpu_s": math.fsum(vcpu_s.values()),
        "by_step_vcpu_s": vcpu_s,
        "resources": used,
        "prices": prices,
    }
