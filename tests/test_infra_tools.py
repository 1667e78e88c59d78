"""The linters `make test` holds the infrastructure to: cfn-lint, checkov and cdk-nag's
AwsSolutions pack on both templates, hadolint on the worker Dockerfile (the ASL validator
runs in test_infra_state_machine.py).

cfn-lint and hadolint come with the dev extra; checkov and cdk-nag (with aws-cdk-lib,
which needs Node.js) live in their own tool venv, which the Makefile's ``unit`` target
names in N2N_TOOLS. Every skip or suppression sits in the resource's Metadata with its
reason, and a test removes them all to show each one is still needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [ROOT / "infra" / "template.yaml", ROOT / "infra" / "bootstrap.yaml"]
DOCKERFILE = ROOT / "containers" / "worker" / "Dockerfile"
DEV_BIN = Path(sys.executable).parent
CDK_NAG_SCAN = Path(__file__).resolve().parent / "tools" / "cdk_nag_scan.py"


def run(command: list[str | Path], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=180, **options
    )


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_cfn_lint_finds_nothing(path: Path):
    result = run([DEV_BIN / "cfn-lint", path])
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_finds_nothing():
    result = run([DEV_BIN / "hadolint", DOCKERFILE])
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def tool(name: str) -> Path:
    """A program of the tool venv named in N2N_TOOLS."""
    tools = os.environ.get("N2N_TOOLS")
    if not tools:
        pytest.skip("N2N_TOOLS is not set: run the tests with `make test`.")
    binary = Path(tools) / "bin" / name
    assert binary.exists(), f"{binary} is missing: run `make tools`."
    return binary


def checkov() -> Path:
    return tool("checkov")


def scan(paths: list[Path], tmp_path: Path) -> list[dict[str, Any]]:
    """checkov's results per file, offline (no Prisma Cloud download, no API key)."""
    files = [part for path in paths for part in ("--file", path)]
    environment = {k: v for k, v in os.environ.items() if k not in ("BC_API_KEY", "PRISMA_API_URL")}
    result = run(
        [checkov(), *files, "--framework", "cloudformation", "--skip-download", "--output", "json"],
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def metadata_skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(check id, resource) → reason, as written in each resource's Metadata."""
    return {
        (skip["id"], f"{resource['Type']}.{name}"): skip.get("comment", "")
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def load(path: Path) -> dict[str, Any]:
    template, errors = decode(str(path))
    assert not errors
    return json.loads(json.dumps(template))


def test_checkov_passes_with_every_skip_explained(tmp_path: Path):
    skips: dict[tuple[str, str], str] = {}
    for path in TEMPLATES:
        skips |= metadata_skips(load(path))
    assert all(reason.strip() for reason in skips.values()), "every skip needs a comment"
    reports = scan(TEMPLATES, tmp_path)
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert all(not report["results"]["parsing_errors"] for report in reports)
    skipped = {
        (check["check_id"], check["resource"])
        for report in reports
        for check in report["results"]["skipped_checks"]
    }
    assert skipped == set(skips), "a skip checkov does not apply is stale: remove it"


def test_every_checkov_skip_is_needed(tmp_path: Path):
    """Without their Metadata skips the templates fail exactly the skipped checks."""
    skips: dict[tuple[str, str], str] = {}
    stripped = []
    for path in TEMPLATES:
        template = load(path)
        skips |= metadata_skips(template)
        for resource in template["Resources"].values():
            resource.get("Metadata", {}).pop("checkov", None)
        copy = tmp_path / f"{path.stem}.json"
        copy.write_text(json.dumps(template))
        stripped.append(copy)
    failed = {
        (check["check_id"], check["resource"])
        for report in scan(stripped, tmp_path)
        for check in report["results"]["failed_checks"]
    }
    assert failed == set(skips)


def nag_suppressions(template: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """(resource, rule, finding) → reason, from each resource's ``cdk_nag`` Metadata
    (a suppression without ``applies_to`` covers the rule's finding "")."""
    return {
        (name, rule["id"], finding): rule.get("reason", "")
        for name, resource in template["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        for finding in rule.get("applies_to", [""])
    }


@pytest.fixture(scope="module")
def nag(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """cdk-nag's unacknowledged findings on each template as written and with its
    cdk_nag Metadata removed, from one synthesis."""
    folder = tmp_path_factory.mktemp("nag")
    suppressions, targets = {}, []
    for path in TEMPLATES:
        template = load(path)
        suppressions[path.stem] = nag_suppressions(template)
        for resource in template["Resources"].values():
            resource.get("Metadata", {}).pop("cdk_nag", None)
        stripped = folder / f"{path.stem}.json"
        stripped.write_text(json.dumps(template))
        targets += [f"{path.stem}={path}", f"{path.stem}Stripped={stripped}"]
    result = run([tool("python"), CDK_NAG_SCAN, *targets], cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"findings": json.loads(result.stdout), "suppressions": suppressions}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_cdk_nag_finds_nothing_unacknowledged(nag: dict[str, Any], path: Path):
    assert nag["findings"][path.stem] == []
    reasons = nag["suppressions"][path.stem].values()
    assert all(len(reason.split()) >= 8 for reason in reasons), "give each suppression a reason"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: path.name)
def test_every_cdk_nag_suppression_is_needed(nag: dict[str, Any], path: Path):
    """Without their Metadata suppressions the templates show exactly the suppressed
    findings: none is stale, none hides more than it names."""
    found = {
        (finding["resource"], finding["rule"], finding["finding"])
        for finding in nag["findings"][f"{path.stem}Stripped"]
    }
    assert found == set(nag["suppressions"][path.stem])
