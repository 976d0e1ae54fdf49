"""The CRDs in ``crds/`` and the chart are exactly what the API models generate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from foresight.api import crd
from foresight.cli import app

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("directory", ["crds", "charts/foresight/crds"])
def test_checked_in_crds_match_the_models(directory: str) -> None:
    generated = {name: crd.render(body) for name, body in crd.custom_resource_definitions().items()}
    on_disk = {p.name: p.read_text() for p in (ROOT / directory).glob("*.yaml")}
    assert on_disk == generated, f"{directory} drifted from the API models: run `foresight crds`"


def test_crds_check_flags_drift(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["crds", "--out", str(tmp_path), "--chart", str(tmp_path / "chart")]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--check"]).exit_code == 0
    victim = next(tmp_path.glob("*.yaml"))
    victim.write_text(victim.read_text() + "# edited\n")
    assert runner.invoke(app, [*args, "--check"]).exit_code == 1


def test_schema_is_structural() -> None:
    """Kubernetes rejects schemas with refs, nulls or additionalProperties beside properties."""

    def walk(node: object) -> None:
        if isinstance(node, dict):
            assert "$ref" not in node and "anyOf" not in node and "title" not in node
            assert not ("properties" in node and "additionalProperties" in node)
            if "properties" in node:
                assert node.get("type") == "object"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for body in crd.custom_resource_definitions().values():
        version = body["spec"]["versions"][0]
        walk(version["schema"])
        spec = version["schema"]["openAPIV3Schema"]["properties"].get("spec", {})
        scaling = spec.get("properties", {}).get("scaling")
        if scaling is not None:
            assert scaling["x-kubernetes-validations"][0]["rule"] == "self.minReplicas <= self.maxReplicas"
