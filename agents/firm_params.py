"""The knobs of firms: the starting labs, what each business model builds, model lives.

Re-exported by :mod:`aimarket.agents.params`; the source of every default is in
``docs/model.md``.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, field_validator

from aimarket.agents.business import BusinessModel
from aimarket.agents.fields import (
    Frozen,
    NonNegativeFloat,
    PositiveFloat,
    StudentFrac,
    UnitInterval,
)
from aimarket.markets.calendar import month_index, normalise_month
from aimarket.markets.posttraining import post_training_frac

__all__ = [
    "DistillParams",
    "FirmParams",
    "OpenWeightsParams",
    "PostTrainingParams",
    "ReachParams",
    "SpecialistParams",
    "WrapperParams",
]


class SpecialistParams(Frozen):
    """A small model distilled from the best model a firm can access, for one segment."""

    params_frac: Annotated[float, Field(gt=0, le=1)] = 0.1
    gap_oom: NonNegativeFloat = 0.5


class DistillParams(Frozen):
    """Smaller versions of a firm's own model: the sizes a firm may distil, the capability
    a student keeps, and the data it is trained on."""

    params_fracs: Annotated[tuple[StudentFrac, ...], Field(max_length=4)] = (0.1, 0.01)
    gap_oom_per_oom: NonNegativeFloat = 1.0
    tokens: PositiveFloat = 1e12


class WrapperParams(Frozen):
    """Reselling a lab's tokens with scaffolding whose advantage fades with progress."""

    scaffold_bonus_oom: NonNegativeFloat = 0.3
    scaffold_decay_oom: PositiveFloat = 0.5
    token_overhead: Annotated[float, Field(ge=1)] = 1.5
    wholesale_discount_frac: Annotated[float, Field(ge=0, lt=1)] = 0.2
    scaffold_cost_usd: NonNegativeFloat = 2e7


class ReachParams(Frozen):
    """Bought reach (docs/model.md, "Brand"): at each strategy review a firm may buy a
    channel deal reaching up to ``max_frac`` of the represented customers (in steps of an
    eighth, a quarter, a half and all of it), at ``usd_per_customer_month`` for each
    customer reached; 0 turns the channel off."""

    max_frac: UnitInterval = 0.5
    usd_per_customer_month: NonNegativeFloat = 1.0

    def levels(self) -> tuple[float, ...]:
        """The deal sizes on offer, shares of the represented customers.

        >>> ReachParams(max_frac=0.4).levels()
        (0.0, 0.05, 0.1, 0.2, 0.4)
        """
        if self.max_frac == 0:
            return (0.0,)
        return (0.0, *(self.max_frac * f for f in (0.125, 0.25, 0.5, 1.0)))


class OpenWeightsParams(Frozen):
    """The open-weights fringe: models released as a family and served near cost by many
    hosts.

    ``releases`` says what it serves: ``"lag"``, closed models' capability after a lag
    (``lag_schedule``: ``(month, lag_months)`` points in calendar time, the lag
    interpolated linearly between them and held beyond the first and last); or
    ``"decision"``, the models firms chose to release (:mod:`aimarket.agents.release`),
    each worth ``complement_usd_per_query`` to its maker's other business for every query
    it serves (docs/model.md, "Open weights").
    """

    enabled: bool = True
    lag_schedule: Annotated[tuple[tuple[str, NonNegativeFloat], ...], Field(min_length=1)] = (
        ("2020-06", 24.0),
        ("2022-06", 24.0),
        ("2024-01", 3.0),
    )
    host_markup_frac: NonNegativeFloat = 0.2
    releases: Literal["lag", "decision"] = "lag"
    complement_usd_per_query: NonNegativeFloat = 0.0
    family_params_fracs: Annotated[
        tuple[Annotated[float, Field(gt=0, le=1)], ...], Field(min_length=1, max_length=4)
    ] = (1.0, 0.1, 0.01)

    @field_validator("lag_schedule")
    @classmethod
    def _schedule(cls, v: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        points = tuple((normalise_month(m), float(lag)) for m, lag in v)
        months = [month_index(m) for m, _ in points]
        if months != sorted(set(months)):
            raise ValueError("lag_schedule months must be strictly increasing")
        return points

    def lag_months_at(self, month: str) -> float:
        """The release lag at calendar ``month`` (``'YYYY-MM'``).

        Examples
        --------
        >>> OpenWeightsParams().lag_months_at("2021-09")
        24.0
        >>> OpenWeightsParams().lag_months_at("2023-04")
        12.9
        >>> OpenWeightsParams().lag_months_at("2025-01")
        3.0
        """
        t = month_index(month)
        points = [(month_index(m), lag) for m, lag in self.lag_schedule]
        if t <= points[0][0]:
            return points[0][1]
        for (t0, a), (t1, b) in itertools.pairwise(points):
            if t <= t1:
                return round(a + (b - a) * (t - t0) / (t1 - t0), 1)
        return points[-1][1]


class PostTrainingParams(Frozen):
    """Post-training (RL, fine-tuning) after pre-training (docs/model.md, "Post-training").

    Post-training compute ``r`` times a model's pre-training compute raises its capability
    by ``gain * r**b / (r**b + mid_frac**b)`` OOM (a sigmoid in log compute with
    diminishing returns, the form of ScaleRL's compute-performance curves), where the gain
    is ``reasoning_gain_oom`` for a model trained to reason and ``gain_oom`` otherwise and
    ``b`` is ``slope``. A lab picks ``r`` to get the most capability per FLOP
    (:func:`aimarket.markets.scaling.post_training_frac`).
    """

    gain_oom: NonNegativeFloat = 0.3
    reasoning_gain_oom: NonNegativeFloat = 0.6
    mid_frac: PositiveFloat = 0.1
    slope: PositiveFloat = 1.0

    def split(self, *, reasons: bool, lever_frac: float = 1.0) -> tuple[float, float]:
        """``(r, gain_oom)``: the post-training share of pre-training compute a lab
        spends on a model, and the capability it adds. A reasoning model's gain is
        ``gain_oom + lever_frac * (reasoning_gain_oom - gain_oom)``: ``lever_frac`` is how
        much reasoning buys in the run's regime against the general-task trade-off.

        >>> [round(x, 2) for x in PostTrainingParams().split(reasons=True)]
        [0.33, 0.46]
        >>> [round(x, 2) for x in PostTrainingParams().split(reasons=False)]
        [0.19, 0.2]
        """
        gain = self.gain_oom
        if reasons:
            gain += lever_frac * (self.reasoning_gain_oom - self.gain_oom)
        gain = max(gain, 0.0)
        return post_training_frac(gain_oom=gain, mid_frac=self.mid_frac, slope=self.slope)


class FirmParams(Frozen):
    """The starting labs, model lives and what each business model means."""

    amortisation_months: Annotated[int, Field(ge=1)] = 24
    model_upkeep_usd_per_month: NonNegativeFloat = 2e5
    retire_grace_months: Annotated[int, Field(ge=0)] = 3
    training_flop_log_sd: NonNegativeFloat = 0.3
    segment_lead_sd_oom: NonNegativeFloat = 0.3
    model_age_months: Annotated[int, Field(ge=0)] = 6
    upfront_training_flop: PositiveFloat = 3e25
    inference_training_flop: PositiveFloat = 3e24
    inference_overtrain_factor: Annotated[float, Field(ge=1)] = 10.0
    research_flop_per_training_flop: NonNegativeFloat = 9.0
    max_reasoning_multiplier: Annotated[float, Field(ge=1)] = 1000.0
    reasoning_from: str | None = None
    idle_exit_months: Annotated[int, Field(ge=1)] = 6
    free_tier_review_months: Annotated[int, Field(ge=1)] = 6
    business_models: Annotated[tuple[BusinessModel, ...], Field(min_length=1)] = (
        BusinessModel.UPFRONT_HEAVY,
        BusinessModel.INFERENCE_HEAVY,
    )
    distill: DistillParams = DistillParams()
    specialist: SpecialistParams = SpecialistParams()
    wrapper: WrapperParams = WrapperParams()
    open_weights: OpenWeightsParams = OpenWeightsParams()
    reach: ReachParams = ReachParams()
    post_training: PostTrainingParams = PostTrainingParams()

    @field_validator("reasoning_from")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        return None if v is None else normalise_month(v)

    def reasoning_possible(self, calendar_month: str) -> bool:
        """Whether a reasoning (inference-heavy) model can be built in ``calendar_month``:
        from ``reasoning_from`` on (always when it is None)."""
        start = self.reasoning_from
        return start is None or month_index(calendar_month) >= month_index(start)

    @field_validator("business_models")
    @classmethod
    def _trainable(cls, v: tuple[BusinessModel, ...]) -> tuple[BusinessModel, ...]:
        allowed = {BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY}
        bad = [b.value for b in v if b not in allowed]
        if bad:
            raise ValueError(f"labs start as one of {sorted(allowed)}, got {bad}")
        return v
