"""Candidate projects: what each business model would build now, and at what cost.

Turns the economics of :mod:`markets` into :class:`agents.strategy.Candidate` records for a
firm's strategy review or a startup's entry decision, and the market view it values them
against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from aimarket.agents.business import Allocation, BusinessModel, Offers
from aimarket.agents.firms import Firm
from aimarket.agents.strategy import (
    Candidate,
    CustomerSample,
    MarketView,
    Rivals,
    SegmentProfile,
    reasoning_effort,
)
from aimarket.markets.costs import HOURS_PER_MONTH, serving_cost
from aimarket.markets.scaling import capability_index, compute_optimal, inference_optimal
from aimarket.sim.params import ModelParams, regime_tradeoff
from aimarket.sim.technology import Technology

if TYPE_CHECKING:
    from aimarket.sim.model import MarketModel

__all__ = [
    "build_candidates",
    "customer_sample",
    "effort",
    "incumbent_candidate",
    "market_view",
    "offer_economics",
    "rivals",
    "segment_profile",
    "training_plan",
    "wholesale_usd_per_token",
]

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


def offer_economics(
    params_count: np.ndarray, tech: Technology, params: ModelParams, *, batch: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """GPU cost (USD) and decode latency (s) of one token of models of ``params_count``.

    Arrays are ``(k,)``; ``batch`` is one size or ``(k,)``. Decode roofline at ``batch``
    (:func:`markets.costs.serving_cost`);
    the cost is divided by the month's serving efficiency.
    """
    hw = params.hardware
    serving = serving_cost(
        np.asarray(params_count, dtype=float),
        batch=batch,
        peak_flop_per_s=tech.peak_flop_per_s,
        mem_bw_bytes_per_s=tech.mem_bw_bytes_per_s,
        mem_bytes=tech.mem_bytes,
        usd_per_gpu_hour=tech.usd_per_gpu_hour,
        gpus_per_node=hw.gpus_per_node,
        bytes_per_param=hw.bytes_per_param,
        mfu=hw.serving_mfu_frac,
    )
    usd_per_token = np.asarray(serving.usd_per_token, dtype=float) / tech.serving_efficiency
    return usd_per_token, np.asarray(serving.latency_s_per_token, dtype=float)


def training_plan(flop: ArrayLike, model: MarketModel) -> tuple[Any, Any, Any]:
    """``(gpus, months, cost_usd)`` of a training run planned now (arrays like ``flop``).

    A firm plans enough GPUs to finish in ``firms.training_target_months``, capped by
    ``hardware.max_training_gpus``; cost at today's rental price. (The run itself takes
    what is free when it starts; see :func:`sim.processes.training`.)
    """
    hw, tech = model.params.hardware, model.technology
    per_gpu_month = tech.peak_flop_per_s * hw.training_mfu_frac * SECONDS_PER_MONTH
    flop = np.asarray(flop, dtype=float)
    wanted = flop / (per_gpu_month * model.params.firms.training_target_months)
    gpus = np.maximum(np.minimum(wanted, hw.max_training_gpus), 1.0)
    months = flop / (gpus * per_gpu_month)
    return gpus, months, gpus * months * HOURS_PER_MONTH * tech.usd_per_gpu_hour


def segment_profile(params: ModelParams) -> SegmentProfile:
    """The typical customer of each segment (what reasoning effort is tuned for)."""
    segs = params.demand.segments

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


def effort(
    model: MarketModel,
    base_kappa: ArrayLike,
    max_multiplier: ArrayLike,
    usd_per_token: ArrayLike,
    latency_s_per_token: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """``(multiplier, kappa)``, ``(s, k)``: the reasoning effort ``k`` models would spend in
    each segment at these token costs (:func:`agents.strategy.reasoning_effort` under the
    run's regime)."""
    oom_per_oom, cap_oom = regime_tradeoff(model.params.market.regime)
    return reasoning_effort(
        np.array(base_kappa, dtype=float, ndmin=1, copy=None),
        np.array(max_multiplier, dtype=float, ndmin=1, copy=None),
        np.array(usd_per_token, dtype=float, ndmin=1, copy=None),
        np.array(latency_s_per_token, dtype=float, ndmin=1, copy=None),
        model.segment_profile,
        oom_per_oom=oom_per_oom,
        cap_oom=cap_oom,
        slope_per_oom=model.params.demand.success_slope_per_oom,
    )


def build_candidates(
    model: MarketModel, business_models: tuple[BusinessModel, ...], *, exclude_firm: int = 0
) -> list[Candidate]:
    """Every project of the given business models a firm could start this month (a wrapper
    never resells the deciding firm's own tokens).

    Candidates depend on the month's technology, the models on sale and the number of
    sellers, not on who asks, so they are memoised on that state: every firm reviewing in
    a month shares one list.
    """
    key = (
        model.month,
        business_models,
        model.frontier_train_flop(),
        len(model.sellers()),
        id(model.offer_rows),
    )
    cache = model.memo.setdefault("candidates", {})
    if key not in cache:
        cache.clear()  # one month's state at a time
        cache[key] = _all_candidates(model, business_models)
    return [c for c in cache[key] if c.supplier_id is None or c.supplier_id != exclude_firm]


def _all_candidates(
    model: MarketModel, business_models: tuple[BusinessModel, ...]
) -> list[Candidate]:
    params, tech = model.params, model.technology
    fp = params.firms
    frontier_flop = model.frontier_train_flop()
    out: list[Candidate] = []
    trainable = [
        b
        for b in business_models
        if b in (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
    ]
    budgets = np.array(params.strategy.budget_multiples) * frontier_flop
    n_opt, d_opt = (np.asarray(x, dtype=float) for x in compute_optimal(budgets))
    share = 1.0 / max(len(model.sellers()), 1)
    if trainable:
        # One array entry per (business model, allocation, budget).
        max_mult = np.array(
            [
                fp.max_reasoning_multiplier if b is BusinessModel.INFERENCE_HEAVY else 1.0
                for b in trainable
            ]
        )
        rl = np.array(
            [
                1.0 + (fp.reasoning_rl_frac if b is BusinessModel.INFERENCE_HEAVY else 0.0)
                for b in trainable
            ]
        )
        # What a new model would serve over the payback horizon at the effort a
        # compute-optimal model of the same budget would spend, reasoning included.
        nb = budgets.shape[0]
        usd_opt, lat_opt = offer_economics(n_opt, tech, params, batch=params.hardware.serving_batch)
        base_opt = np.asarray(capability_index(n_opt, d_opt), dtype=float)
        seg_tokens = model.market_tokens_by_segment() * share * params.strategy.payback_months
        n_bm = max_mult.shape[0]
        # Every business model's effort at every budget, in one call.
        lifetime = (
            seg_tokens
            @ effort(
                model,
                np.tile(base_opt, n_bm),
                np.repeat(max_mult, nb),
                np.tile(usd_opt, n_bm),
                np.tile(lat_opt, n_bm),
            )[0]
        ).reshape(n_bm, nb)  # (business models, budgets)
        n_aware, d_aware = _inference_aware(model, n_opt, d_opt, lifetime)
        labels, n_all, d_all, m_all, rl_all = [], [], [], [], []
        for i, bm in enumerate(trainable):
            for alloc, n_arr, d_arr in (
                (Allocation.CHINCHILLA, n_opt, d_opt),
                (Allocation.INFERENCE_AWARE, n_aware[i], d_aware[i]),
            ):
                labels += [(bm, alloc)] * nb
                n_all.append(n_arr)
                d_all.append(d_arr)
                m_all.append(np.full(nb, max_mult[i]))
                rl_all.append(np.full(nb, rl[i]))
        n_p, n_t = np.concatenate(n_all), np.concatenate(d_all)
        max_m, rls = np.concatenate(m_all), np.concatenate(rl_all)
        flop = 6.0 * n_p * n_t * rls
        _, months, cost = training_plan(flop, model)
        base = np.asarray(
            capability_index(
                n_p, n_t, algorithmic_multiplier=model.training_multiplier_at(model.month + months)
            ),
            dtype=float,
        )
        usd_tok, lat_tok = offer_economics(n_p, tech, params, batch=params.hardware.serving_batch)
        mult, kappa = effort(model, base, max_m, usd_tok, lat_tok)
        out.extend(
            Candidate(
                business_model=bm,
                allocation=alloc,
                params=float(n_p[k]),
                train_tokens=float(n_t[k]),
                train_flop=float(flop[k]),
                base_kappa=float(base[k]),
                kappa=kappa[:, k],
                inference_multiplier=mult[:, k],
                max_inference_multiplier=float(max_m[k]),
                cost_usd=float(cost[k]),
                months_to_launch=float(months[k]),
                usd_per_token=float(usd_tok[k]),
                latency_s_per_token=float(lat_tok[k]),
            )
            for k, (bm, alloc) in enumerate(labels)
        )
    if BusinessModel.SPECIALIST in business_models:
        out.extend(_specialists(model))
    if BusinessModel.WRAPPER in business_models:
        out.extend(_wrappers(model))
    return out


def _inference_aware(
    model: MarketModel, n_opt: np.ndarray, d_opt: np.ndarray, lifetime_tokens: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sardana-optimal ``(params, tokens)``, ``(m, b)``, for ``b`` compute-optimal models
    and ``(m, b)`` lifetime-token demands of each, memoised on the run (demands rounded to
    0.02 OOM, far below what moves the optimum): firms reviewing in the same months ask
    the same."""
    demand = np.round(np.log10(np.maximum(lifetime_tokens, 1.0)), 2)
    key = (n_opt.tobytes(), d_opt.tobytes(), demand.tobytes())
    cache = model.memo.setdefault("inference_aware", {})
    if key not in cache:
        m, b = demand.shape[0], n_opt.shape[0]
        aware = inference_optimal(np.tile(n_opt, m), np.tile(d_opt, m), 10.0 ** demand.ravel())
        cache[key] = (
            np.asarray(aware.params, dtype=float).reshape(m, b),
            np.asarray(aware.tokens, dtype=float).reshape(m, b),
        )
        if len(cache) > 256:
            cache.pop(next(iter(cache)))
    return cache[key]


def _specialists(model: MarketModel) -> list[Candidate]:
    params, tech = model.params, model.technology
    sp = params.firms.specialist
    teacher = model.best_supply()
    if teacher is None:
        return []
    s = model.customers.n_segments
    student = sp.params_frac * teacher.firm.trained.params
    student_flop = 6.0 * student * sp.distill_tokens
    # The teacher writes the distillation data at the effort it spends in the segment.
    teacher_flop = 2.0 * teacher.firm.trained.params * sp.distill_tokens * teacher.multiplier
    flop = student_flop + teacher_flop  # (s,)
    _, months, cost = training_plan(flop, model)
    usd_tok, lat_tok = offer_economics(
        np.array([student]), tech, params, batch=params.hardware.serving_batch
    )
    return [
        Candidate(
            business_model=BusinessModel.SPECIALIST,
            allocation=Allocation.DISTILLED,
            params=student,
            train_tokens=sp.distill_tokens,
            train_flop=float(flop[g]),
            base_kappa=float(teacher.kappa[g]) - sp.gap_oom,
            kappa=np.full(s, float(teacher.kappa[g]) - sp.gap_oom),
            inference_multiplier=np.ones(s),
            max_inference_multiplier=1.0,
            cost_usd=float(cost[g]),
            months_to_launch=float(months[g]),
            usd_per_token=float(usd_tok[0]),
            latency_s_per_token=float(lat_tok[0]),
            segment=g,
        )
        for g in range(s)
    ]


def wholesale_usd_per_token(model: MarketModel, row: Any) -> float:
    """What a wrapper pays a lab per token: the lab's API list price (its cheapest price per
    token in a usage segment last month) less ``firms.wrapper.wholesale_discount_frac``;
    before the lab has a price, its first-month price (cost plus the initial markup)."""
    c = model.customers
    usage = ~c.subscription
    prices = row.firm.prices.get(row.tier)
    list_price = row.compute * (1.0 + model.params.market.initial_markup_frac)
    if prices is not None and usage.any():
        per_token = prices[usage] / (c.tokens_per_query[usage] * row.multiplier[usage])
        list_price = float(per_token.min())
    return list_price * (1.0 - model.params.firms.wrapper.wholesale_discount_frac)


def _wrappers(model: MarketModel) -> list[Candidate]:
    wp = model.params.firms.wrapper
    out = []
    for supplier in model.suppliers()[:3]:
        row = model.supply_row(supplier)
        if row is None:
            continue
        out.append(
            Candidate(
                business_model=BusinessModel.WRAPPER,
                allocation=Allocation.NONE,
                params=supplier.trained.params,
                train_tokens=0.0,
                train_flop=0.0,
                base_kappa=supplier.trained.kappa,
                kappa=row.kappa + wp.scaffold_bonus_oom,
                inference_multiplier=row.multiplier * wp.token_overhead,
                max_inference_multiplier=supplier.trained.max_inference_multiplier,
                cost_usd=wp.scaffold_cost_usd,
                months_to_launch=0.0,
                usd_per_token=wholesale_usd_per_token(model, row),
                latency_s_per_token=row.latency,
                supplier_id=supplier.firm_id,
            )
        )
    return out


def incumbent_candidate(model: MarketModel, firm: Firm) -> Candidate | None:
    """The firm's current standard offering as a candidate that costs nothing to keep (None
    when its model retired since the offerings were last built)."""
    if firm.trained is None:
        return None
    for row in model.offer_rows:
        if row.firm is firm and int(row.tier) == 0:
            t = firm.trained
            return Candidate(
                business_model=t.business_model,
                allocation=t.allocation,
                params=t.params,
                train_tokens=t.train_tokens,
                train_flop=t.train_flop,
                base_kappa=t.kappa,
                kappa=row.kappa,
                inference_multiplier=row.multiplier,
                max_inference_multiplier=t.max_inference_multiplier,
                cost_usd=0.0,
                months_to_launch=0.0,
                usd_per_token=row.cost,
                latency_s_per_token=row.latency,
                segment=t.segment,
                supplier_id=t.supplier_id,
            )
    return None


def customer_sample(model: MarketModel, columns: np.ndarray | None = None) -> CustomerSample:
    """The valuation sample of customers (``strategy.valuation_customers`` of them), built
    once per run: every firm values its projects against the same customers. With
    ``columns``, a sample of those customers instead (not kept)."""
    sample = model.memo.get("customer_sample") if columns is None else None
    if sample is None:
        c, demand = model.customers, model.params.demand
        cols = model.valuation_columns if columns is None else columns
        sample = CustomerSample(
            difficulty_kappa=c.difficulty_kappa[cols],
            hard_frac=c.hard_frac[cols],
            hard_extra_oom=c.hard_extra_oom[cols],
            latency_value_frac_per_s=c.latency_value_frac_per_s[cols],
            outside_z=c.outside_value_frac[cols] / demand.choice_noise_frac,
            segment=c.segment[cols],
            pay_units=c.pay_units[cols],
            queries=c.queries_per_month[cols],
            scale_usd=c.scale_usd[cols],
            price_coef=c.price_coef[cols],
            weight=c.segment_weights(cols),
            n_segments=c.n_segments,
            noise_frac=demand.choice_noise_frac,
            nest_frac=demand.nest_frac,
            slope_per_oom=demand.success_slope_per_oom,
            segment_tokens=c.tokens_per_query,
        )
        if columns is None:
            model.memo["customer_sample"] = sample
    return sample


def rivals(model: MarketModel, offers: Offers | None) -> Rivals:
    """This month's offerings as deciding firms see them (built once per set of offers)."""
    c = model.customers
    cached = model.memo.get("rivals")
    if cached is not None and cached[0] is offers:
        return cached[1]
    if offers is None or offers.size == 0:
        empty = np.zeros((c.n_segments, 0))
        built = Rivals(empty, empty, empty, np.zeros(empty.shape, dtype=bool))
    else:
        built = Rivals(
            kappa=offers.kappa,
            price_usd=offers.price_usd,
            latency_s=offers.per_query(offers.latency_s_per_token, c.tokens_per_query),
            available=offers.available,
        )
    model.memo["rivals"] = (offers, built)
    return built


def market_view(model: MarketModel, offers: Offers | None, *, exclude_firm: int) -> MarketView:
    """What a firm observes: the valuation sample of customers and its rivals' offerings."""
    own = None if offers is None or offers.size == 0 else offers.firm_ids == exclude_firm
    return MarketView(sample=customer_sample(model), rivals=rivals(model, offers), own=own)


def firm_can_train(firm: Firm) -> bool:
    """Whether a firm is free to start a project (none in progress)."""
    return firm.active and firm.project is None
