"""docs/model.md has a row for every knob of a run: its default and the default's source."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from aimarket.sim.params import ModelParams

MODEL_DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def _keys(cls: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every leaf key of a params model (nested models expanded)."""
    out = []
    for name, field in cls.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += _keys(kind, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_every_default_is_documented_with_its_source() -> None:
    keys = _keys(ModelParams)
    assert len(keys) > 50  # the walk found the knobs (a broken walk must not pass)
    assert "capacity.lead_months" in keys
    text = MODEL_DOC.read_text(encoding="utf-8")
    missing = [k for k in keys if f"| `{k}` |" not in text]  # a row of a defaults table
    assert not missing, f"docs/model.md does not name: {missing}"
