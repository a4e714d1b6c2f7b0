"""Open weights as a decision: a firm releases a model's weights when what the release
brings the rest of its business exceeds the profit it gives up
(``firms.open_weights.releases = "decision"``; docs/model.md, "Open weights").

Released, a model leaves its maker's line and the competitive fringe serves it near cost
(:class:`aimarket.agents.open_weights.OpenWeights`). Its maker gives up what the model
earned and faces it as a cheap rival to the rest of its line; in return every query the
open model serves is worth ``complement_usd_per_query`` to the maker's other business
(complements, recruiting) and counts toward the maker's installed base (its brand, as
customers remember who made the model they use). A firm compares, at its strategy
review, its line's best monthly profit as it is against each release: the line without
the model, its brand raised by the model's share of the market's queries, against its
rivals and the open model at the hosts' price, plus the complement's value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.conduct import CONDUCT
from aimarket.agents.context import MarketContext
from aimarket.agents.products import Model
from aimarket.agents.valuation import CustomerSample, Product, Rivals, line_profit_usd

__all__ = ["ReleaseOption", "release_choice", "release_options"]


@dataclass(frozen=True, slots=True)
class ReleaseOption:
    """Releasing the model at ``index`` in the firm's line: ``open_log_weight`` ``(m,)``
    its nest weight on the sample when the hosts serve it (``-inf`` where not sold), the
    installed base its open use would add (``base_gain_frac``, its share of the market's
    queries) and the complement's value a month (USD)."""

    index: int
    open_log_weight: NDArray[np.float64]
    base_gain_frac: float
    complement_usd: float


def release_choice(
    line: tuple[Product, ...],
    options: Sequence[ReleaseOption],
    sample: CustomerSample,
    rivals_log_weight: NDArray[np.float64],
    *,
    elasticity: float,
    brand_utility: float,
    installed_frac: float,
    reach_frac: float,
) -> tuple[int | None, NDArray[np.float64]]:
    """The release a firm makes (an index into ``options``, or None) and every option's
    gain a month (USD, ``(k,)``): the line's best profit without the model, under the
    brand ``brand_utility * min(installed + gain + reach, 1)``, against its rivals
    (``rivals_log_weight``, ``(m,)``) and the open model, plus the complement's value,
    less the line's best profit as it is. The largest positive gain is released.
    """
    gains = np.zeros(len(options))
    if not line or not options:
        return None, gains
    moments = {"kappa_shift": np.zeros(1), "cost_factor": np.ones(1)}
    rivals = np.asarray(rivals_log_weight, dtype=float).reshape(1, -1)
    keep = line_profit_usd([line], sample, rivals, elasticity=elasticity, **moments)[0, 0]
    for k, option in enumerate(options):
        brand = brand_utility * min(installed_frac + option.base_gain_frac + reach_frac, 1.0)
        rest = tuple(
            dataclasses.replace(p, brand_utility=brand)
            for i, p in enumerate(line)
            if i != option.index
        )
        with_open = np.logaddexp(rivals, option.open_log_weight[None, :])
        profit = (
            line_profit_usd([rest], sample, with_open, elasticity=elasticity, **moments)[0, 0]
            if rest
            else 0.0
        )
        gains[k] = profit + option.complement_usd - keep
    best = int(np.argmax(gains))
    return (best if gains[best] > 0 else None), gains


def release_options(
    ctx: MarketContext, priced: Sequence[tuple[Model, int, Product]]
) -> list[ReleaseOption]:
    """What releasing each general model of the firm's own making in ``priced`` (model,
    column of its standard offering in ``ctx.offers``, product) would mean: the model at
    the hosts' price as a rival on the sample, its share of last month's queries and the
    complement's value of those queries (``firms.open_weights``)."""
    offers, queries = ctx.offers, ctx.offer_queries
    if offers is None or queries is None or not queries.sum() > 0:
        return []
    ow = ctx.params.firms.open_weights
    total = float(queries.sum())
    out = []
    for index, (m, j, _) in enumerate(priced):
        if m.segment is not None or not CONDUCT[m.business_model].trains:
            continue
        hosted = offers.take(np.array([j]))
        price = hosted.compute_usd_per_token * (1.0 + ow.host_markup_frac)
        hosted = dataclasses.replace(hosted.with_prices(price), brand_utility=np.zeros(1))
        weight = Rivals.build(
            hosted,
            ctx.sample,
            elasticity=ctx.params.demand.elasticity,
            kappa_shift=np.zeros(1),
            cost_factor=np.ones(1),
        ).log_weight(None)[0]
        served = float(queries[offers.model_ids == m.model_id].sum())
        out.append(
            ReleaseOption(
                index=index,
                open_log_weight=weight,
                base_gain_frac=served / total,
                complement_usd=ow.complement_usd_per_query * served,
            )
        )
    return out
