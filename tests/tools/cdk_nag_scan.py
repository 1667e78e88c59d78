"""cdk-nag's AwsSolutions pack over CloudFormation templates, through CfnInclude.

Run by the tools venv's Python (aws-cdk-lib and cdk-nag need Node.js), not by the
project's: ``python cdk_nag_scan.py LABEL=TEMPLATE ...``. Prints one JSON object, label →
the findings that no suppression in the template's Metadata acknowledges, each
``{"rule", "finding", "resource"}`` (``finding`` is cdk-nag's id of what was found, e.g.
``Resource::*``, or "" when the rule names none). Every template is checked in one
synthesis, so the Node.js start-up is paid once.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import aws_cdk
from aws_cdk import cloudformation_include
from cdk_nag import AwsSolutionsChecks

FINDING = re.compile(r"^(?P<rule>AwsSolutions-[A-Za-z0-9]+)(\[(?P<finding>.*)\])?: ")


def findings(outdir: Path, label: str) -> list[dict[str, str]]:
    """The AwsSolutions errors and warnings cdk-nag attached to stack ``label``."""
    metadata = json.loads((outdir / f"{label}.metadata.json").read_text())
    found = []
    for path, entries in metadata.items():
        for entry in entries:
            match = FINDING.match(str(entry.get("data", "")))
            if entry["type"] in ("aws:cdk:error", "aws:cdk:warning") and match:
                found.append(
                    {
                        "rule": match["rule"],
                        "finding": match["finding"] or "",
                        "resource": path.rsplit("/", 1)[-1],
                    }
                )
    return sorted(found, key=lambda f: (f["resource"], f["rule"], f["finding"]))


def main(arguments: list[str]) -> int:
    """Scan each ``LABEL=TEMPLATE``; print the findings by label."""
    with tempfile.TemporaryDirectory() as outdir:
        app = aws_cdk.App(outdir=outdir)
        labels = []
        for argument in arguments:
            label, template = argument.split("=", 1)
            stack = aws_cdk.Stack(app, label)
            cloudformation_include.CfnInclude(stack, "Template", template_file=template)
            labels.append(label)
        aws_cdk.Aspects.of(app).add(AwsSolutionsChecks())
        app.synth()
        print(json.dumps({label: findings(Path(outdir), label) for label in labels}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
