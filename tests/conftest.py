"""Shared fixtures: small model parameters that run in well under a second."""

from __future__ import annotations

import pytest

from sim.params import ModelParams


@pytest.fixture
def small_params() -> ModelParams:
    """Four labs and 2,000 customers."""
    return ModelParams(labs=4, customers=2_000)
