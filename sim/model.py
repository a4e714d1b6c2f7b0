"""``MarketModel``: one run of the AI model market.

The model owns the simpy environment (the only clock, in months), the run's random
generators, the firms and the customer population. ``step()`` advances one month, so the
model also works with Mesa's tools (``mesa.batch_run``) unchanged.
"""

from __future__ import annotations

import mesa
import numpy as np
import simpy

from agents.business import BusinessModel, Offers, TrainedModel
from agents.customers import CustomerPopulation
from agents.firms import Firm, Lab
from markets.costs import training_cost
from markets.scaling import capability_index, compute_optimal
from sim.market import MonthOutcome
from sim.params import ModelParams
from sim.processes import start_processes
from sim.record import Recorder
from sim.technology import Technology, technology_at

__all__ = ["ROLES", "MarketModel", "as_seed_sequence"]

#: Independent random streams of a run, spawned from its seed in this order. Append new
#: roles at the end: existing roles keep their streams.
ROLES: tuple[str, ...] = ("mesa", "hardware", "demand", "firms", "customers", "entry")


def as_seed_sequence(seed: np.random.SeedSequence | int | None) -> np.random.SeedSequence:
    """The run's seed as a ``SeedSequence`` (an int is its entropy; None draws OS entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(seed)


class MarketModel(mesa.Model):
    """The AI model market, one run.

    Parameters
    ----------
    params
        Every model knob (``[model]`` of an experiment config).
    seed
        The run's ``SeedSequence`` (or its entropy). Role streams (:data:`ROLES`) are
        spawned from it; mesa's own ``rng`` is the ``"mesa"`` stream.
    horizon_months
        Months to simulate; ``run_model()`` stops after this many steps.
    start_month
        Calendar month of simulation month 0, ``'YYYY-MM'``.
    run_id
        Key of the run's table rows.
    """

    def __init__(
        self,
        params: ModelParams | None = None,
        *,
        seed: np.random.SeedSequence | int | None = None,
        horizon_months: int = 120,
        start_month: str = "2025-01",
        run_id: str = "run",
    ) -> None:
        seed_seq = as_seed_sequence(seed)
        streams = dict(zip(ROLES, seed_seq.spawn(len(ROLES)), strict=True))
        super().__init__(rng=np.random.default_rng(streams.pop("mesa")))
        self.streams = {role: np.random.default_rng(ss) for role, ss in streams.items()}
        self.params = params if params is not None else ModelParams()
        self.horizon_months = horizon_months
        self.start_month = start_month
        self.run_id = run_id
        self.env = simpy.Environment()
        self.technology: Technology = technology_at(self.params, start_month, 0)
        self.offers: Offers | None = None
        self.outcome: MonthOutcome | None = None
        self.recorder = Recorder(run_id, start_month)
        demand = self.params.demand
        self.customers = CustomerPopulation(
            self,
            segments=demand.segments,
            n=self.params.customers,
            rng=self.streams["customers"],
            choice_noise_frac=demand.choice_noise_frac,
            switching_inertia=demand.switching_inertia,
            success_slope_per_oom=demand.success_slope_per_oom,
            represented=demand.represented_customers,
        )
        self.firms: list[Firm] = [self._found_lab(i) for i in range(self.params.labs)]
        start_processes(self)

    def _found_lab(self, index: int) -> Lab:
        """A lab of the starting market, with a model trained before month 0."""
        fp = self.params.firms
        business_model: BusinessModel = fp.business_models[index % len(fp.business_models)]
        bm = fp.for_business_model(business_model)
        rng = self.streams["firms"]
        flop = bm.training_flop * float(np.exp(fp.training_flop_log_sd * rng.standard_normal()))
        n_opt, d_opt = compute_optimal(flop)
        stretch = float(np.sqrt(bm.overtrain_factor))
        n_params, n_tokens = float(n_opt) / stretch, float(d_opt) * stretch
        launched = -fp.model_age_months
        tech = technology_at(self.params, self.start_month, launched)
        trained = TrainedModel(
            params=n_params,
            train_tokens=n_tokens,
            train_flop=6.0 * n_params * n_tokens,
            cost_usd=float(
                training_cost(
                    flop,
                    peak_flop_per_s=tech.peak_flop_per_s,
                    mfu=self.params.hardware.training_mfu_frac,
                    usd_per_gpu_hour=tech.usd_per_gpu_hour,
                    gpus=10_000,
                ).usd
            ),
            launched_month=launched,
            kappa=float(
                capability_index(
                    n_params, n_tokens, algorithmic_multiplier=tech.training_multiplier
                )
            ),
        )
        return Lab(
            self,
            business_model=business_model,
            cash_usd=fp.initial_cash_usd,
            trained=trained,
            inference_multiplier=bm.inference_multiplier,
        )

    @property
    def month(self) -> int:
        """Months simulated so far (the next month to run)."""
        return int(self.env.now)

    def step(self) -> None:
        """Advance the market by one month (every phase of the current month)."""
        self.env.run(until=self.env.now + 1)
        if self.env.now >= self.horizon_months:
            self.running = False

    def tables(self):
        """The run's tables so far, as declared polars DataFrames keyed by table name."""
        return self.recorder.tables()
