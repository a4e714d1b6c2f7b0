"""``MarketModel``: one run of the AI model market.

The model owns the simpy environment (the only clock, in months), the run's random
generators, the GPU market, the firms and the customer population. ``step()`` advances
one month, so the model also works with Mesa's tools (``mesa.batch_run``) unchanged.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import mesa
import numpy as np
import simpy

from aimarket.agents.business import Allocation, BusinessModel, Offers, TrainedModel
from aimarket.agents.customers import CustomerPopulation
from aimarket.agents.firms import Firm, Lab, OpenWeights
from aimarket.markets.costs import training_cost
from aimarket.markets.hardware import algorithmic_training_multiplier, flop_per_usd_multiplier
from aimarket.markets.scaling import capability_index, compute_optimal
from aimarket.sim.clock import month_index
from aimarket.sim.gpus import GpuMarket
from aimarket.sim.market import MonthOutcome, OfferRow
from aimarket.sim.params import ModelParams
from aimarket.sim.processes import start_processes
from aimarket.sim.projects import segment_profile
from aimarket.sim.record import Recorder
from aimarket.sim.technology import Technology, technology_at

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
        self._training_multipliers: dict[int | float, float] = {}
        self.run_id = run_id
        self.env = simpy.Environment()
        self.gpus = GpuMarket(self.env, self.params.hardware)
        self.technology: Technology = self._technology_at(0.0)
        self.offers: Offers | None = None
        self.offer_rows: list[OfferRow] = []
        self.outcome: MonthOutcome | None = None
        self.recorder = Recorder(run_id, start_month)
        self.frontier_kappa = math.nan
        self.kappa_history: list[float] = []
        self.entries_this_month = 0
        self.exits_this_month = 0
        self.cumulative_training_usd = 0.0
        self.cumulative_inference_usd = 0.0
        #: Memoised pure computations shared by the firms' decisions (see sim.projects).
        self.memo: dict[str, Any] = {}
        self._model_ids = 0
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
            routing=demand.routing,
            pricing_sample_size=demand.pricing_sample_size,
            nest_frac=demand.nest_frac,
        )
        c = self.customers
        #: The typical customer of each segment: what reasoning effort is tuned for.
        self.segment_profile = segment_profile(self.params)
        self.valuation_columns = c.stratified_columns(self.params.strategy.valuation_customers)
        #: Mean queries per customer in each segment: a subscription's unit of price.
        self.typical_queries = np.where(
            c.subscription,
            np.bincount(c.segment, c.queries_per_month, c.n_segments)
            / np.maximum(np.bincount(c.segment, minlength=c.n_segments), 1),
            1.0,
        )
        #: Every model a lab has put on sale (what open weights later reproduce).
        self.lab_models: list[TrainedModel] = []
        self.firms: list[Firm] = [self._found_lab(i) for i in range(self.params.labs)]
        for firm in self.firms:
            self.cumulative_training_usd += firm.trained.cost_usd if firm.trained else 0.0
        #: The open-weights fringe, a full-size and a distilled small release (empty when
        #: disabled); they are also in ``firms``.
        self.fringe: tuple[OpenWeights, ...] = ()
        ow = self.params.firms.open_weights
        if ow.enabled:
            self.fringe = tuple(
                OpenWeights(
                    self,
                    params_frac=frac,
                    gap_oom=gap,
                    business_model=BusinessModel.OPEN_WEIGHTS,
                    cash_usd=0.0,
                    founded_month=0,
                )
                for frac, gap in ((1.0, 0.0), (ow.small_params_frac, ow.small_gap_oom))
            )
            self.firms.extend(self.fringe)
        start_processes(self)

    # -- set-up -------------------------------------------------------------------------

    def _technology_at(self, month: float) -> Technology:
        return technology_at(
            self.params, self.start_month, month, usd_per_gpu_hour=self.gpus.usd_per_gpu_hour
        )

    def _found_lab(self, index: int) -> Lab:
        """A lab of the starting market, with a model trained before month 0."""
        fp = self.params.firms
        business_model = fp.business_models[index % len(fp.business_models)]
        inference = business_model is BusinessModel.INFERENCE_HEAVY
        rng = self.streams["firms"]
        flop = (fp.inference_training_flop if inference else fp.upfront_training_flop) * float(
            np.exp(fp.training_flop_log_sd * rng.standard_normal())
        )
        n_opt, d_opt = compute_optimal(flop)
        stretch = math.sqrt(fp.inference_overtrain_factor if inference else 1.0)
        n_params, n_tokens = float(n_opt) / stretch, float(d_opt) * stretch
        launched = -fp.model_age_months
        tech = self._technology_at(float(launched))
        lab = Lab(
            self,
            business_model=business_model,
            cash_usd=self.params.finance.lab_initial_cash_usd,
            founded_month=launched,
        )
        lab.trained = TrainedModel(
            model_id=self.next_model_id(),
            firm_id=lab.firm_id,
            business_model=business_model,
            allocation=Allocation.INFERENCE_AWARE if inference else Allocation.CHINCHILLA,
            params=n_params,
            train_tokens=n_tokens,
            train_flop=6.0 * n_params * n_tokens,
            cost_usd=float(
                training_cost(
                    flop,
                    peak_flop_per_s=tech.peak_flop_per_s,
                    mfu=self.params.hardware.training_mfu_frac,
                    usd_per_gpu_hour=tech.usd_per_gpu_hour,
                    gpus=self.params.hardware.max_training_gpus,
                ).usd
            ),
            launched_month=launched,
            kappa=float(
                capability_index(
                    n_params, n_tokens, algorithmic_multiplier=tech.training_multiplier
                )
            ),
            max_inference_multiplier=fp.max_reasoning_multiplier if inference else 1.0,
        )
        self.record_model(lab.trained)
        return lab

    # -- the clock ----------------------------------------------------------------------

    @property
    def month(self) -> int:
        """The current month (the next month to run, between steps)."""
        return int(self.env.now)

    def step(self) -> None:
        """Advance the market by one month (every phase of the current month)."""
        self.env.run(until=self.env.now + 1)
        if self.env.now >= self.horizon_months:
            self.running = False

    def refresh_technology(self) -> None:
        """This month's technology at the GPU market's current rental price."""
        self.technology = self._technology_at(float(self.month))

    # -- what decisions look at -----------------------------------------------------------

    def training_multiplier_at(self, month: Any) -> Any:
        """Algorithmic effective-compute multiplier of a model trained by ``month``
        (a float, or an array like ``month``; floats are memoised)."""
        scalar = isinstance(month, (int, float))
        if scalar and month in self._training_multipliers:
            return self._training_multipliers[month]
        alg = self.params.algorithms
        since = month_index(self.start_month) + np.asarray(month) - month_index(alg.reference_month)
        out = algorithmic_training_multiplier(since, halving_months=alg.training_halving_months)
        if scalar:
            self._training_multipliers[month] = out
        return out

    def sellers(self) -> list[Firm]:
        """Active firms with a model on sale."""
        return [f for f in self.firms if f.active and f.trained is not None]

    def suppliers(self) -> list[Firm]:
        """Active labs whose tokens a wrapper could resell, most capable first."""
        labs = [
            f
            for f in self.sellers()
            if f.trained.business_model
            in (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
        ]
        return sorted(labs, key=lambda f: -f.trained.kappa)

    def supply_row(self, supplier: Firm) -> OfferRow | None:
        """This month's standard offering of a lab, or None if it has none on sale."""
        cached = self.memo.get("supply_rows")
        if cached is None or cached[0] is not self.offer_rows:  # new offerings: rebuild
            rows = {
                row.firm.firm_id: row
                for row in reversed(self.offer_rows)  # a firm's first such row wins
                if row.supplier is None and int(row.tier) == 0
            }
            cached = self.memo["supply_rows"] = (self.offer_rows, rows)
        return cached[1].get(supplier.firm_id)

    def best_supply(self) -> OfferRow | None:
        """The standard offering of the most capable lab on sale (a distillation teacher):
        highest capability in its best segment."""
        rows = [r for r in (self.supply_row(f) for f in self.suppliers()) if r is not None]
        return max(rows, key=lambda r: float(r.kappa.max()), default=None)

    def frontier_train_flop(self) -> float:
        """Training FLOP of the largest model on sale: the scale of budgets considered."""
        labs = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
        flops = [
            f.trained.train_flop
            for f in self.firms
            if f.active and f.trained is not None and f.trained.business_model in labs
        ]  # the suppliers' (see :meth:`suppliers`), without sorting them
        return max(flops) if flops else self.params.firms.upfront_training_flop

    def market_tokens_by_segment(self) -> np.ndarray:
        """``(s,)`` plain-answer tokens of last month's queries in each segment (reasoning
        not included)."""
        c = self.customers
        if self.outcome is None:
            return np.zeros(c.n_segments)
        return self.outcome.choice.queries_by_segment.sum(axis=1) * c.tokens_per_query

    def frontier_growth_oom_per_month(self) -> float:
        """Capability growth at the frontier over the last year (the prior until 6 months)."""
        history = [k for k in self.kappa_history[-12:] if math.isfinite(k)]
        prior = self.params.strategy.frontier_growth_prior_oom_per_year / 12.0
        if len(history) < 6:
            return prior
        return max((history[-1] - history[0]) / (len(history) - 1), 0.0)

    @functools.cached_property
    def cost_decline_per_month(self) -> float:
        """Fractional monthly fall of serving cost from hardware and serving software."""
        hw, alg = self.params.hardware, self.params.algorithms
        gain = float(
            flop_per_usd_multiplier(1.0, doubling_years=hw.memory_bandwidth_doubling_years)
        )
        gain *= alg.serving_efficiency_per_year ** (1.0 / 12.0)
        return 1.0 - 1.0 / gain

    def opex_usd(self, firm: Firm) -> float:
        """A firm's fixed operating cost per month (staff, offices, everything but compute)."""
        fin = self.params.finance
        if firm in self.fringe:
            return 0.0
        return fin.lab_opex_usd_per_month if firm.kind == "lab" else fin.startup_opex_usd_per_month

    def reserve_usd(self, firm: Firm) -> float:
        """Cash a firm keeps back: ``finance.reserve_months`` of its recent monthly costs."""
        out = self.outcome
        if out is None or firm not in out.firms:
            return self.params.finance.reserve_months * self.opex_usd(firm)
        k = out.firms.index(firm)
        burn = out.serving_cost_usd[k] + out.training_usd[k] + out.opex_usd[k]
        return self.params.finance.reserve_months * float(burn)

    # -- records --------------------------------------------------------------------------

    def next_model_id(self) -> int:
        """A fresh model id."""
        self._model_ids += 1
        return self._model_ids

    def record_model(self, trained: TrainedModel) -> None:
        """Add a launched model to the models table."""
        if trained.business_model in (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY):
            self.lab_models.append(trained)
        self.recorder.model(trained, self.customers.segment_names)

    def event(
        self, firm: Firm, kind: str, *, amount_usd: float | None = None, detail: str = ""
    ) -> None:
        """Add an event (entry, exit, funding, training_start, launch, retire)."""
        self.recorder.event(self.env.now, firm.firm_id, kind, amount_usd, detail)

    def tables(self):
        """The run's tables so far, as declared polars DataFrames keyed by table name."""
        return self.recorder.tables()
