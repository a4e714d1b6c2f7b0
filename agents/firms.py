"""Firms: labs and startups, as mesa agents that own their decisions (the open-weights
fringe, a firm too, is in :mod:`aimarket.agents.open_weights`).

A firm holds cash, the line of models it sells, at most one project in training and the
prices of its offerings. Each month it may review its strategy (:meth:`Firm.review`),
prices its line (:meth:`Firm.set_prices`), and withdraws models that no longer cover
their costs (:meth:`Firm.retirements`); each decision is a policy of the month's
:class:`~aimarket.agents.context.MarketContext`. The simulation decides *when* (simpy
processes) and books what each month cost and earned (:meth:`Firm.book`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import mesa
import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import BusinessModel
from aimarket.agents.conduct import CONDUCT, Conduct, distillations
from aimarket.agents.context import AgentParams, MarketContext
from aimarket.agents.funnel import FreeTierBook
from aimarket.agents.params import FinanceParams, FirmParams
from aimarket.agents.policies import funding_offer_usd, next_price_usd
from aimarket.agents.products import Model, Tier
from aimarket.agents.reach import brand_utility, reach_choice
from aimarket.agents.release import release_choice, release_options
from aimarket.agents.strategy import Candidate, pick_project
from aimarket.agents.valuation import Product, line_prices_usd

__all__ = ["Firm", "Lab", "Menu", "Project", "Startup"]

#: Months of gross profit a model's retirement test averages over.
PROFIT_MEMORY_MONTHS = 3


@dataclass(frozen=True, slots=True)
class Menu:
    """A firm's offerings this month, ``(k,)`` arrays, as its pricing sees them.

    ``unit_usd`` is the cost of a unit of price (a token's, or a plan's expected serving
    cost per subscriber); prices stay between ``floor_usd`` and ``ceiling_usd``.
    ``products`` are the firm's models as its valuations see them (their standard
    per-token offering, and a plan if they have one), by model id.
    """

    offer_ids: NDArray[np.int64]
    model_ids: NDArray[np.int64]
    tiers: NDArray[np.int8]
    unit_usd: NDArray[np.float64]
    floor_usd: NDArray[np.float64]
    ceiling_usd: NDArray[np.float64]
    products: dict[int, Product]


@dataclass
class Project:
    """A project in progress: ``gpus`` rented from the spot pool (its own contracted GPUs
    cover the rest of its ``size_gpus``), the rental paid so far and the FLOP done."""

    candidate: Candidate
    started_month: float
    gpus: float
    #: GPUs the run and its research use when all is well (final run and research).
    size_gpus: float = 0.0
    flop_done: float = 0.0
    spent_usd: float = 0.0


class Firm(mesa.Agent):
    """A firm that sells AI offerings.

    Parameters
    ----------
    model
        The owning mesa model.
    business_model
        Where the firm's compute goes (may change at each new project).
    cash_usd
        Cash at founding.
    founded_month
        Simulation month of founding (negative for the starting labs).
    """

    kind: ClassVar[str] = "firm"

    def __init__(
        self,
        model: mesa.Model,
        *,
        business_model: BusinessModel,
        cash_usd: float,
        founded_month: float = 0.0,
    ) -> None:
        super().__init__(model)
        self.business_model = business_model
        self.cash_usd = float(cash_usd)
        #: Models on sale now, oldest first; and every model the firm launched.
        self.line: list[Model] = []
        self.launched: list[Model] = []
        self.project: Project | None = None
        self.founded_month = founded_month
        self.active = True
        self.exit_month: int | None = None
        self.idle_months = 0
        #: Month of the last funding round (None: never raised).
        self.last_round_month: int | None = None
        #: Price of each offering (offer id -> USD per token, or per month for a plan).
        self.prices: dict[int, float] = {}
        #: Revenue of the last twelve months (USD), newest last: traction for investors.
        self.revenue_history: list[float] = []
        #: Recent monthly gross profit of each model on sale (USD), newest last.
        self.model_profit: dict[int, list[float]] = {}
        #: Recent monthly serving needs (GPUs, averaged over the month), newest last, and
        #: the share of last month's its contracts and the spot market covered.
        self.serving_need_gpus: list[float] = []
        self.served_frac = 1.0
        #: Its installed base: customers' memory of its share of the market's AI work
        #: (:func:`aimarket.markets.adoption.installed_base_step`; docs/model.md, "Brand").
        self.brand_frac = 0.0
        #: Its channel deal: the share of represented customers it reaches, and its cost
        #: a month (:mod:`aimarket.agents.reach`), chosen at each strategy review.
        self.reach_frac = 0.0
        self.reach_usd_per_month = 0.0
        #: GPUs its contracts served last month (serving's claim on them this month).
        self.contract_serving_gpus = 0.0
        #: Its free plan: whether it offers one, and what it cost and brought in.
        self.free_tier = FreeTierBook()
        # This month's flows, booked at clearing and reset after recording.
        self.month_training_usd = 0.0
        self.month_research_usd = 0.0
        self.month_funding_usd = 0.0
        #: Its contracted GPUs (month average) put to research and training this month,
        #: and their share of its contracts' bill (USD): R&D's, not serving's.
        self.month_contract_rnd_gpus = 0.0
        self.month_contract_rnd_usd = 0.0

    @property
    def firm_id(self) -> int:
        """The mesa ``unique_id``: stable for the whole run."""
        return self.unique_id

    @property
    def conduct(self) -> Conduct:
        """What the firm's current business model builds and sells."""
        return CONDUCT[self.business_model]

    @property
    def annual_revenue_usd(self) -> float:
        """Revenue of the last twelve months, annualised if the firm is younger."""
        if not self.revenue_history:
            return 0.0
        return sum(self.revenue_history) / len(self.revenue_history) * 12

    def free_plan_model(self, ctx: MarketContext) -> Model | None:
        """The model it offers a free plan on this month: its cheapest general model to
        serve (fewest parameters), if its business model and its own decision
        (:class:`aimarket.agents.funnel.FreeTierBook`) say so and the market has free
        plans (``market.free_tier``)."""
        allowance = ctx.params.market.free_tier.allowance_queries_per_month
        if not (self.conduct.free_plan and self.free_tier.on and allowance > 0):
            return None
        general = [m for m in self.line if m.segment is None]
        return min(general, key=lambda m: m.params) if general else None

    def brand_utility(self, ctx: MarketContext) -> float:
        """What its brand (installed base and bought reach) adds to customers' utility of
        its offerings (utility units)."""
        return brand_utility(ctx.params.demand.brand_utility, self.brand_frac, self.reach_frac)

    def choose_reach(self, ctx: MarketContext) -> None:
        """Strategy review of its channel deal (:func:`aimarket.agents.reach.reach_choice`):
        the deal whose extra profit on its line most exceeds its cost, until the next."""
        rp, demand = ctx.params.firms.reach, ctx.params.demand
        self.reach_frac, self.reach_usd_per_month = reach_choice(
            self.products(ctx),
            ctx.sample,
            ctx.rivals_log_weight(self.firm_id)[:1],
            elasticity=demand.elasticity,
            utility=demand.brand_utility,
            installed_frac=self.brand_frac,
            levels=rp.levels(),
            usd_per_level=rp.usd_per_customer_month * demand.represented_customers,
        )

    def business_models(self, ctx: MarketContext) -> tuple[BusinessModel, ...]:
        """The business models this firm may choose a project from."""
        return ctx.params.entry.business_models

    # -- decisions ------------------------------------------------------------------------

    def review(
        self, ctx: MarketContext, rng: np.random.Generator, *, distil_only: bool = False
    ) -> Candidate | None:
        """Strategy review: value every project the firm could start (new models of its
        business models, smaller versions of its own) against keeping its line as it is,
        and pick one with bounded rationality (None: keep). ``distil_only``: just after a
        launch, only whether to make smaller versions of the new model."""
        candidates = (
            []
            if distil_only
            else [
                c
                for c in ctx.candidates(self.business_models(ctx))
                if c.supplier_id is None or c.supplier_id != self.firm_id
            ]
        )
        candidates += distillations(ctx, tuple(self.line))
        if not candidates:
            return None
        return pick_project(
            ctx,
            [c.branded(self.brand_utility(ctx)) for c in candidates],
            budget_usd=self.cash_usd + self.funding_offer_usd(ctx, for_project=True),
            firm_id=self.firm_id,
            opex_usd_per_month=self.opex_usd(ctx.params),
            line=self.products(ctx),
            rng=rng,
        )

    def products(self, ctx: MarketContext) -> tuple[Product, ...]:
        """The firm's models on sale last month, as valuations see them."""
        return tuple(p for _, _, p in self.priced_line(ctx))

    def priced_line(self, ctx: MarketContext) -> list[tuple[Model, int, Product]]:
        """Each model on sale last month, the column of its standard offering in
        ``ctx.offers``, and the model as valuations see it."""
        offers = ctx.offers
        if offers is None or not self.line:
            return []
        out = []
        for m in self.line:
            mine = offers.model_ids == m.model_id
            std = np.flatnonzero(mine & (offers.tiers == Tier.STANDARD))
            if not std.size:
                continue  # launched this month: not yet priced
            j = int(std[0])
            out.append(
                (
                    m,
                    j,
                    Product(
                        kappa=offers.kappa[:, j],
                        multiplier=offers.inference_multiplier[:, j],
                        usd_per_token=float(offers.usd_per_token[j]),
                        latency_s_per_token=float(offers.latency_s_per_token[j]),
                        segment=m.segment,
                        plan=bool((mine & offers.plan & ~offers.free).any()),
                        brand_utility=self.brand_utility(ctx),
                    ),
                )
            )
        return out

    def choose_release(self, ctx: MarketContext) -> Model | None:
        """Strategy review of open weights (``firms.open_weights.releases = "decision"``):
        the model of its own making whose release gains its business most, if any gains
        (:func:`aimarket.agents.release.release_choice`)."""
        ow, demand = ctx.params.firms.open_weights, ctx.params.demand
        if ow.releases != "decision" or not self.conduct.trains:
            return None
        priced = self.priced_line(ctx)
        options = release_options(ctx, priced)
        pick, _ = release_choice(
            tuple(p for _, _, p in priced),
            options,
            ctx.sample,
            ctx.rivals_log_weight(self.firm_id)[0],
            elasticity=demand.elasticity,
            brand_utility=demand.brand_utility,
            installed_frac=self.brand_frac,
            reach_frac=self.reach_frac,
        )
        return None if pick is None else priced[options[pick].index][0]

    def set_prices(
        self,
        ctx: MarketContext,
        menu: Menu,
        best_response_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """This month's prices of the firm's offerings (``menu``, ``(k,)``).

        An offering sold last month takes a damped step in logarithms
        (``market.price_damping_frac``, at most ``market.max_price_step`` a month;
        :func:`aimarket.agents.policies.next_price_usd`) toward the line's best response
        to last month's demand at this month's costs; one nobody bought moves toward its
        unit cost. An offering new to the market starts where the firm's valuation of its
        whole line puts it (:func:`aimarket.agents.valuation.line_prices_usd`: the line's
        most profitable prices against its rivals on the sample of customers it values
        projects with; other tiers and plans at the same markup over their own unit cost).
        Prices stay between the menu's floor and ceiling (the choke price).
        """
        market = ctx.params.market
        previous = np.array([self.prices.get(int(o), np.nan) for o in menu.offer_ids])
        seen = np.isfinite(previous)
        prices = menu.unit_usd * (1.0 + market.initial_markup_frac)
        if not seen.all():
            prices[~seen] = self._opening_prices(ctx, menu)[~seen]
        if seen.any():
            prices[seen] = next_price_usd(
                menu.unit_usd[seen],
                previous_price_usd=previous[seen],
                best_response_usd=np.minimum(best_response_usd[seen], menu.ceiling_usd[seen]),
                damping_frac=market.price_damping_frac,
                max_step=market.max_price_step,
            )
        prices = np.maximum(np.minimum(prices, menu.ceiling_usd), menu.floor_usd)
        self.prices = {int(o): float(p) for o, p in zip(menu.offer_ids, prices, strict=True)}
        return prices

    def _opening_prices(self, ctx: MarketContext, menu: Menu) -> NDArray[np.float64]:
        """``(k,)`` where the firm's line valuation puts each offering's price (cost plus
        the initial markup where it has no answer)."""
        fallback = menu.unit_usd * (1.0 + ctx.params.market.initial_markup_frac)
        if not menu.products:
            return fallback
        ids = list(menu.products)
        per_token, plan = line_prices_usd(
            tuple(menu.products[m] for m in ids),
            ctx.sample,
            ctx.rivals_log_weight(self.firm_id)[0],
            elasticity=ctx.params.demand.elasticity,
        )
        markup = {}  # model -> (per-token price over its standard cost, plan fee over unit)
        for k, m in enumerate(ids):
            std = (menu.model_ids == m) & (menu.tiers == Tier.STANDARD)
            first = (menu.model_ids == m) & (menu.tiers == Tier.PLAN)
            usage = per_token[k] / menu.unit_usd[std][0] if std.any() else np.nan
            fee = plan[k] / menu.unit_usd[first][0] if first.any() else np.nan
            markup[m] = (usage, fee)
        ratio = np.array(
            [
                markup.get(int(m), (np.nan, np.nan))[1 if t >= Tier.PLAN else 0]
                for m, t in zip(menu.model_ids, menu.tiers, strict=True)
            ]
        )
        return np.where(np.isfinite(ratio) & (ratio > 0), menu.unit_usd * ratio, fallback)

    def retirements(self, month: int, fp: FirmParams) -> list[Model]:
        """Models whose gross profit over the last months no longer covers their upkeep
        (after a grace period from launch): the firm withdraws them. Its most capable model
        stays while the firm is in business (it is the business: a firm whose best model
        does not pay runs out of cash and exits)."""
        if not self.conduct.pays_upkeep or not self.line:
            return []
        best = max(self.line, key=lambda m: m.kappa)
        out = []
        for m in self.line:
            if m is best:
                continue
            recent = self.model_profit.get(m.model_id, [])
            young = month - m.launched_month < fp.retire_grace_months
            if young or len(recent) < PROFIT_MEMORY_MONTHS:
                continue
            if sum(recent) / len(recent) < fp.model_upkeep_usd_per_month:
                out.append(m)
        return out

    def funding_offer_usd(self, ctx: MarketContext, *, for_project: bool) -> float:
        """The most investors would put in now (0 if the last round was too recent)."""
        fin = ctx.params.finance
        last = self.last_round_month
        if last is not None and ctx.month - last < fin.months_between_rounds:
            return 0.0
        return _offer(self, fin, for_project=for_project)

    def opex_usd(self, params: AgentParams) -> float:
        """Fixed operating cost per month (staff, offices, everything but compute)."""
        return params.finance.startup_opex_usd_per_month

    # -- books ----------------------------------------------------------------------------

    def launch(self, models: list[Model]) -> None:
        """New models go on sale."""
        self.line.extend(models)
        self.launched.extend(models)

    def retire(self, model: Model) -> None:
        """A model leaves the line."""
        self.line = [m for m in self.line if m.model_id != model.model_id]
        self.model_profit.pop(model.model_id, None)

    def record_model_profit(self, model_id: int, gross_profit_usd: float) -> None:
        """One month's revenue less serving cost of a model on sale."""
        history = self.model_profit.setdefault(model_id, [])
        history.append(gross_profit_usd)
        del history[:-PROFIT_MEMORY_MONTHS]

    def book(
        self,
        *,
        revenue_usd: float,
        serving_cost_usd: float,
        training_spend_usd: float = 0.0,
        research_spend_usd: float = 0.0,
        opex_usd: float = 0.0,
    ) -> None:
        """Book one month's operations:
        ``cash += revenue - serving - training - research - opex``.

        Funding is not booked here: it reaches the cash when raised
        (:meth:`receive_funding`), so that decisions in the same month can use it.
        """
        spent = serving_cost_usd + training_spend_usd + research_spend_usd + opex_usd
        self.cash_usd += revenue_usd - spent
        self.revenue_history.append(revenue_usd)
        del self.revenue_history[:-12]

    def receive_funding(self, amount_usd: float) -> None:
        """Investors' money arrives now; it is also this month's ``funding_usd``."""
        if amount_usd < 0:
            raise ValueError(f"funding must be non-negative, got {amount_usd}")
        self.cash_usd += amount_usd
        self.month_funding_usd += amount_usd


class Lab(Firm):
    """An established lab that trains its own frontier models."""

    kind: ClassVar[str] = "lab"

    def business_models(self, ctx: MarketContext) -> tuple[BusinessModel, ...]:
        return ctx.params.firms.business_models

    def opex_usd(self, params: AgentParams) -> float:
        return params.finance.lab_opex_usd_per_month


class Startup(Firm):
    """A new entrant that raised venture funding to enter."""

    kind: ClassVar[str] = "startup"


def _offer(firm: Firm, fin: FinanceParams, *, for_project: bool) -> float:
    return funding_offer_usd(
        annual_revenue_usd=firm.annual_revenue_usd,
        revenue_multiple=fin.revenue_multiple,
        base_round_usd=fin.lab_round_usd if firm.kind == "lab" and for_project else 0.0,
        capital_market_index=fin.capital_market_index,
        dilution_frac=fin.dilution_frac,
    )
