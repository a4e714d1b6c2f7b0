"""``MarketModel``: one run of the AI model market.

The model owns the simpy environment (the only clock, in months), the run's random
generators, the GPU market, the firms (a Mesa ``AgentSet``) and the customer population,
and builds once a month the context every firm decides from. ``step()`` advances one
month, so the model also works with Mesa's tools (``mesa.batch_run``) unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import mesa
import numpy as np
import simpy
from mesa.agent import AgentSet

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.context import AgentParams, MarketContext
from aimarket.agents.customers import CustomerPopulation
from aimarket.agents.effort import SegmentProfile
from aimarket.agents.firms import Firm, Lab
from aimarket.agents.growth import DemandGrowth
from aimarket.agents.open_weights import OpenWeights
from aimarket.agents.params import regime_tradeoff
from aimarket.agents.products import Model
from aimarket.agents.technology import Technology
from aimarket.agents.valuation import CustomerSample
from aimarket.markets.calendar import add_months, month_index
from aimarket.markets.costs import training_cost
from aimarket.markets.hardware import algorithmic_training_multiplier, flop_per_usd_multiplier
from aimarket.markets.scaling import capability_index, compute_optimal
from aimarket.sim.captives import buyers
from aimarket.sim.gpus import GpuMarket
from aimarket.sim.market import MonthOutcome, OfferRow
from aimarket.sim.params import ModelParams
from aimarket.sim.processes import start_processes
from aimarket.sim.record import Recorder
from aimarket.sim.technology import technology_at

__all__ = ["ROLES", "MarketModel", "as_seed_sequence"]

#: Independent random streams of a run, spawned from its seed in this order. Append new
#: roles at the end: existing roles keep their streams.
ROLES: tuple[str, ...] = (
    "mesa",
    "hardware",
    "demand",
    "firms",
    "customers",
    "entry",
    "leads",
    "captives",
)


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
        self.gpus = GpuMarket(self.env, self.params.hardware, self.params.capacity.terms())
        self.technology: Technology = self._technology_at(0.0)
        self.offers = None
        self.offer_rows: list[OfferRow] = []
        self.outcome: MonthOutcome | None = None
        self.recorder = Recorder(run_id, start_month, self.params.market)
        self.frontier_kappa = math.nan
        self.kappa_history: list[float] = []
        self.entries_this_month = 0
        self.exits_this_month = 0
        self.cumulative_training_usd = 0.0
        self.cumulative_inference_usd = 0.0
        self._context: MarketContext | None = None
        self._sample_month = -1
        #: Bumped whenever what firms observe changes (a launch, a retirement, an exit, an
        #: entry, new prices): the context is rebuilt on the next request.
        self.state_version = 0
        self._multipliers: dict[float, float] = {}
        self._model_ids = 0
        demand = self.params.demand
        self.customers = CustomerPopulation(
            self,
            segments=demand.segments,
            n=self.params.customers,
            rng=self.streams["customers"],
            elasticity=demand.elasticity,
            switching_inertia=demand.switching_inertia,
            success_slope_per_oom=demand.success_slope_per_oom,
            represented=demand.represented_customers,
            routing=demand.routing,
            pricing_sample_size=demand.pricing_sample_size,
            nest_frac=demand.nest_frac,
            contract_months=np.array(demand.contract_months_by_segment()),
            growth=DemandGrowth(
                np.array([g.difficulty_kappa for g in demand.segments]),
                np.array([g.subscription for g in demand.segments], dtype=bool),
                adoption=demand.adoption,
                usage=demand.usage,
                slope_per_oom=demand.success_slope_per_oom,
            ),
        )
        c = self.customers
        #: Mean queries per customer in each segment.
        self.typical_queries = np.bincount(c.segment, c.queries_per_month, c.n_segments) / (
            np.maximum(np.bincount(c.segment, minlength=c.n_segments), 1)
        )
        self.sample = self._customer_sample(
            c.stratified_columns(self.params.strategy.valuation_customers)
        )
        self.agent_params = AgentParams(
            demand=demand,
            market=self.params.market,
            firms=self.params.firms,
            strategy=self.params.strategy,
            finance=self.params.finance,
            entry=self.params.entry,
            tradeoff=regime_tradeoff(self.params.market.regime),
            batches=(
                self.params.hardware.serving_batch,
                self.params.hardware.priority_batch,
                self.params.hardware.batch_tier_batch,
            ),
        )
        #: Every flagship a lab has put on sale (what open weights later reproduce), and
        #: every model a firm chose to release (``firms.open_weights.releases``).
        self.lab_models: list[Model] = []
        self.open_releases: list[Model] = []
        labs = [self._found_lab(i) for i in range(self.params.labs)]
        #: Every firm of the run, in order of founding (exited ones stay, inactive).
        self.firms = AgentSet(labs, random=self.random)
        for firm in self.firms:
            self.cumulative_training_usd += sum(m.cost_usd for m in firm.line)
        #: The open-weights fringe (None when disabled); it is also in ``firms``.
        self.fringe: OpenWeights | None = None
        if self.params.firms.open_weights.enabled:
            self.fringe = OpenWeights(self, founded_month=0)
            self.firms.add(self.fringe)
        start_processes(self)
        self.env.process(buyers(self))

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
        post_frac, post_gain = self.agent_params.post_training(reasons=inference)
        launched = -fp.model_age_months
        tech = self._technology_at(float(launched))
        lab = Lab(
            self,
            business_model=business_model,
            cash_usd=self.params.finance.lab_initial_cash_usd,
            founded_month=launched,
        )
        trained = Model(
            model_id=self.next_model_id(),
            firm_id=lab.firm_id,
            business_model=business_model,
            allocation=Allocation.INFERENCE_AWARE if inference else Allocation.CHINCHILLA,
            params=n_params,
            train_tokens=n_tokens,
            train_flop=6.0 * n_params * n_tokens * (1.0 + post_frac),
            posttrain_flop=6.0 * n_params * n_tokens * post_frac,
            cost_usd=float(
                training_cost(
                    flop * (1.0 + post_frac),
                    peak_flop_per_s=tech.peak_flop_per_s,
                    mfu=self.params.hardware.training_mfu_frac,
                    usd_per_gpu_hour=tech.usd_per_gpu_hour,
                    gpus=self.params.hardware.max_training_gpus,
                ).usd
            ),
            launched_month=launched,
            kappa=post_gain
            + float(
                capability_index(
                    n_params, n_tokens, algorithmic_multiplier=tech.training_multiplier
                )
            ),
            max_inference_multiplier=fp.max_reasoning_multiplier if inference else 1.0,
            lead_oom=self.draw_leads(),
        )
        lab.launch([trained])
        self.record_model(trained)
        return lab

    def draw_leads(self) -> tuple[float, ...]:
        """A pre-training run's capability lead (lag, if negative) in each segment's kind
        of work, OOM: independent normal draws of sd ``firms.segment_lead_sd_oom`` (none
        when it is 0)."""
        sd = self.params.firms.segment_lead_sd_oom
        if sd == 0:
            return ()
        return tuple(sd * self.streams["leads"].standard_normal(self.customers.n_segments))

    def month_sample(self) -> CustomerSample:
        """The valuation sample as this month's adoption and usage weigh it: each customer
        stands for its segment's aware share of the real ones, does its segment's usage
        times its work, at its segment's value factor per token (built once a month)."""
        if self._sample_month != self.month:
            aware, usage, worth = self.customers.growth_terms()
            seg = self.sample.segment
            self._scaled_sample = dataclasses.replace(
                self.sample,
                weight=self.sample.weight * aware[seg],
                queries=self.sample.queries * usage[seg],
                value_usd_per_token=self.sample.value_usd_per_token * worth[seg],
            )
            self._sample_month = self.month
        return self._scaled_sample

    def _customer_sample(self, cols: np.ndarray) -> CustomerSample:
        """The customers ``cols`` as a valuation sample (firms value projects on it)."""
        c, demand = self.customers, self.params.demand
        return CustomerSample(
            segment=c.segment[cols],
            subscription=c.subscription[c.segment[cols]],
            value_usd_per_token=c.value_usd_per_token[cols],
            outside_value_frac=c.outside_value_frac[cols],
            latency_frac=c.latency_frac[c.segment[cols]],
            queries=c.queries_per_month[cols],
            tokens_per_query=c.tokens_per_query[c.segment[cols]],
            weight=c.segment_weights(cols),
            difficulty_kappa=c.difficulty_kappa[cols],
            hard_frac=c.hard_frac[cols],
            hard_extra_oom=c.hard_extra_oom[cols],
            n_segments=c.n_segments,
            nest_frac=demand.nest_frac,
            slope_per_oom=demand.success_slope_per_oom,
            plan_allowance=self.params.market.plans[0].allowance_queries_per_month,
        )

    def choke_price_usd(
        self, plan: np.ndarray, allowance: np.ndarray, multiplier: np.ndarray
    ) -> np.ndarray:
        """``(j,)`` the most a firm may charge: ten times the most any customer's work is
        worth (per token, the most any usage customer's work is worth per plain token over
        the offering's fewest tokens per plain token; a plan's fee, the most any
        subscriber's work up to the allowance is worth a month). Beyond it an offering
        sells to nobody in practice (value for money below a tenth for every customer)."""
        c = self.customers
        per_token, subscribers = self._customers_at_most
        fewest = np.where(c.subscription[:, None], np.inf, multiplier).min(axis=0)
        out = per_token / np.where(np.isfinite(fewest), fewest, 1.0)
        if subscribers.any():
            fee = np.array([self._most_fee_usd(float(a)) for a in allowance])
            out = np.where(plan, fee, out)
        return 10.0 * out

    @functools.cached_property
    def _customers_at_most(self) -> tuple[float, np.ndarray]:
        """The most any usage customer's work is worth per plain token (USD), and which
        customers subscribe (customers never change, so once per run)."""
        c = self.customers
        usage = ~c.subscription[c.segment]
        return float(c.value_usd_per_token[usage].max(initial=0.0)), ~usage

    @functools.cached_property
    def _fees_at_most(self) -> dict[float, float]:
        """Plan allowance (queries a month) -> the most any subscriber's work up to it is
        worth a month (USD), filled as allowances are asked for."""
        return {}

    def _most_fee_usd(self, allowance_queries: float) -> float:
        fees = self._fees_at_most
        if allowance_queries not in fees:
            c = self.customers
            subscribers = self._customers_at_most[1]
            value = c.value_usd_per_success[subscribers]
            queries = c.queries_per_month[subscribers]
            fees[allowance_queries] = float((value * np.minimum(queries, allowance_queries)).max())
        return fees[allowance_queries]

    @functools.cached_property
    def segment_profile(self) -> SegmentProfile:
        """The typical customer of each segment (what reasoning effort is tuned for)."""
        segs = self.params.demand.segments

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(g, attr) for g in segs], dtype=float)

        return SegmentProfile(
            tokens=col("tokens_per_query"),
            value_usd=col("value_usd_per_success"),
            difficulty_kappa=col("difficulty_kappa"),
            hard_frac=col("hard_task_frac"),
            hard_extra_oom=col("hard_task_extra_oom"),
            latency_value_frac_per_s=col("latency_value_frac_per_s"),
        )

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
        self.state_version += 1

    # -- what decisions look at -----------------------------------------------------------

    def context(self) -> MarketContext:
        """This month's observation (built on first use in the month; see
        :class:`aimarket.agents.context.MarketContext`)."""
        key = (self.month, self.state_version)
        if self._context is None or self._context_key != key:
            self._context = self._build_context()
            self._context_key = key
        return self._context

    def _build_context(self) -> MarketContext:
        c, out = self.customers, self.outcome
        tokens = np.zeros(c.n_segments)
        if out is not None:
            tokens = out.choice.queries_by_segment.sum(axis=1) * c.tokens_per_query
        ctx = MarketContext(
            month=self.month,
            calendar_month=add_months(self.start_month, self.month),
            technology=self.technology,
            params=self.agent_params,
            offers=self.offers,
            demand=out.choice.pricing if out is not None else None,
            lines={f.firm_id: tuple(f.line) for f in self.firms if f.active},
            sample=self.month_sample(),
            profile=self.segment_profile,
            usage_tokens_by_segment=tokens,
            frontier_kappa=self.frontier_kappa,
            frontier_growth_oom_per_month=self.frontier_growth_oom_per_month(),
            cost_decline_per_month=self.cost_decline_per_month,
            multiplier_at=self.training_multiplier_at,
            offer_queries=out.choice.queries
            if out is not None and out.offers is self.offers
            else None,
            segment_queries=out.choice.queries_by_segment
            if out is not None and out.offers is self.offers
            else None,
        )
        if self._context is not None:
            ctx.carry_over(self._context)
        return ctx

    def training_multiplier_at(self, month):
        """Algorithmic effective-compute multiplier of a model trained by ``month`` (a
        float, or an array like ``month``)."""
        if isinstance(month, np.ndarray):
            return self._multiplier(month)
        if month not in self._multipliers:
            self._multipliers[month] = float(self._multiplier(month))
        return self._multipliers[month]

    def _multiplier(self, month):
        alg = self.params.algorithms
        since = month_index(self.start_month) + np.asarray(month) - month_index(alg.reference_month)
        return algorithmic_training_multiplier(since, halving_months=alg.training_halving_months)

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

    def reserve_usd(self, firm: Firm) -> float:
        """Cash a firm keeps back: ``finance.reserve_months`` of its recent monthly costs."""
        out, fin = self.outcome, self.params.finance
        if out is None or firm not in out.firms:
            return fin.reserve_months * firm.opex_usd(self.agent_params)
        k = out.firms.index(firm)
        burn = out.serving_cost_usd[k] + out.training_usd[k] + out.research_usd[k] + out.opex_usd[k]
        return fin.reserve_months * float(burn)

    # -- records --------------------------------------------------------------------------

    def next_model_id(self) -> int:
        """A fresh model id."""
        self._model_ids += 1
        return self._model_ids

    def record_model(self, trained: Model) -> None:
        """Add a launched model to the models table."""
        labs = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
        if trained.business_model in labs and trained.parent_id is None:
            self.lab_models.append(trained)
        self.recorder.model(trained, self.customers.segment_names)

    def event(
        self, firm: Firm, kind: str, *, amount_usd: float | None = None, detail: str = ""
    ) -> None:
        """Add an event (entry, exit, funding, training_start, launch, retire)."""
        self.recorder.event(self.env.now, firm.firm_id, kind, amount_usd, detail)

    def tables(self):
        """The run's tables so far, as declared polars DataFrames keyed by table name."""
        return self.recorder.tables(self.month)
