"""Shared fixtures: small model parameters that run in well under a second."""

from __future__ import annotations

import pytest

from aimarket.sim.params import ModelParams


@pytest.fixture
def small_params() -> ModelParams:
    """Four labs, 1,000 customers, small decision samples."""
    return ModelParams.model_validate(
        {
            "labs": 4,
            "customers": 1_000,
            "demand": {"pricing_sample_size": 250},
            "strategy": {"valuation_customers": 100},
        }
    )
