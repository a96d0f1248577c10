"""No module reaches into a sibling's internals: each service imports the shared runtime and
itself; the dev stack also runs the simulator; only the `kanava` command and its top-level
tools (services/*.py) bring everything together."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
MAY_IMPORT = {
    "common": {"common"},
    "chat_metrics": {"common", "chat_metrics"},
    "pathway_metrics": {"common", "pathway_metrics"},
    "feedback_ingest": {"common", "feedback_ingest"},
    "contact_metrics": {"common", "contact_metrics"},
    "gateway": {"common", "gateway"},
    "simulator": {"common", "simulator"},
    "devstack": {"common", "devstack", "simulator"},
    "importer": {"common", "importer"},
}


def imported_packages(path: Path) -> set[str]:
    """The `services.<package>` names a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "services" and len(parts) > 1 and (SERVICES / parts[1]).is_dir():
                found.add(parts[1])
    return found


def test_every_package_is_covered() -> None:
    packages = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_it_may(package: str) -> None:
    wrong = {
        str(path.relative_to(SERVICES)): sorted(imported_packages(path) - MAY_IMPORT[package])
        for path in sorted((SERVICES / package).rglob("*.py"))
        if imported_packages(path) - MAY_IMPORT[package]
    }
    assert wrong == {}


def test_the_check_sees_a_sibling_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from services.gateway.auth import cli\nimport services.simulator.run\n"
        "from services.common import nps\nfrom . import sibling\n",
        encoding="utf-8",
    )
    assert imported_packages(module) == {"gateway", "simulator", "common"}
