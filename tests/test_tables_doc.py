"""docs/tables.md is generated from the declared schemas, and every column is documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from aimarket.sim.schemas import SCHEMAS, column_docs

SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "scripts" / "tables_doc.py"


def load_script() -> ModuleType:
    """docs/scripts/tables_doc.py as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("tables_doc", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_every_column_has_a_unit_and_a_meaning(table: str) -> None:
    docs = column_docs(table)
    assert docs, f"{table}: no columns"
    undocumented = [name for name, unit, meaning in docs if not unit or not meaning]
    assert not undocumented, f"{table}: columns without unit or meaning: {undocumented}"


def test_docs_tables_md_is_up_to_date() -> None:
    script = load_script()
    expected = script.render()
    current = script.TABLES_MD.read_text()
    assert current == expected, "docs/tables.md is out of date: python docs/scripts/tables_doc.py"
    for table in SCHEMAS:
        assert f"\n## `{table}`\n" in current
        for name, unit, meaning in column_docs(table):
            assert f"| `{name}`" in current
            assert f"| {unit} | {meaning} |" in current


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script()
    stale = tmp_path / "tables.md"
    stale.write_text("# Output tables\n")
    monkeypatch.setattr(script, "TABLES_MD", stale)
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
    assert stale.read_text() == script.render()
