"""Hardware progress makes a fixed model cheaper to serve and a fixed run cheaper to train
(``hardware.*_doubling_years``; docs/model.md, "Hardware"), as the run's clock builds each
month's technology (:func:`aimarket.sim.technology.technology_at`)."""

from __future__ import annotations

import pytest

from aimarket.sim import ModelParams
from aimarket.sim.technology import technology_at

_STILL = 1000.0  # doubling years: no progress within a run


def _tech(doubling_years: float, month: float):
    params = ModelParams.model_validate(
        {
            "hardware": {
                "price_performance_doubling_years": doubling_years,
                "memory_bandwidth_doubling_years": 2 * doubling_years,
            },
            "algorithms": {"serving_efficiency_per_year": 1.0},
        }
    )
    return technology_at(params, "2025-01", month, usd_per_gpu_hour=2.0)


@pytest.mark.parametrize("params_count", [8e9, 70e9, 400e9])
def test_hardware_progress_makes_a_fixed_model_cheaper_to_serve(params_count: float) -> None:
    # Same model, same batch, same rental price per GPU-hour, four years apart: memory
    # bandwidth doubles once (the decode roofline's bound), so the token costs at most
    # about half as much; without progress it costs the same.
    def cost(doubling_years: float, month: float) -> float:
        usd, _ = _tech(doubling_years, month).token_economics(params_count, batch=16.0)
        return float(usd)

    assert cost(2.0, 48.0) < 0.55 * cost(2.0, 0.0)
    assert cost(_STILL, 48.0) == pytest.approx(cost(_STILL, 0.0), rel=1e-2)


def test_hardware_progress_makes_a_fixed_run_cheaper_to_train() -> None:
    flop = 1e25
    _, _, now = _tech(2.0, 0.0).training_plan(flop)
    _, _, later = _tech(2.0, 48.0).training_plan(flop)
    _, _, still = _tech(_STILL, 48.0).training_plan(flop)
    assert later < 0.3 * now  # two doublings of price-performance
    assert still == pytest.approx(now, rel=1e-2)
