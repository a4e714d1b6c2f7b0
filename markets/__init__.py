"""Pure economics of the AI model market: numpy and the standard library only.

Submodules
----------
scaling
    Chinchilla loss, compute-optimal and inference-aware (Sardana et al.) allocation, and
    the capability index ``kappa`` (OOM of effective training compute).
testtime
    Capability bought with test-time compute by task class, repeated-sampling coverage,
    Snell et al.'s FLOP-matching rule.
hardware
    GPU datasheets, price-performance and bandwidth trends, algorithmic efficiency, the
    GPU rental price as a function of utilisation, supply growth, an inference chip.
costs
    Training cost and duration, the decode roofline (cost per token and latency vs batch),
    prefill, query and node costs.
demand
    Task success, customer utility, nested-logit shares and draws, consumer surplus: the
    one demand kernel that customers' choice, firms' valuations and pricing all use.
pricing
    Cost-plus prices and the multi-product nested-logit best response of a product line.
calendar
    Month labels and offsets.
posttraining
    Capability from post-training (RL) compute and the best split of a training budget;
    tokens saved by tool use.
metrics
    Shares, HHI, CR-k, gross and operating margins, the Lerner index.

Every function is vectorised (arguments broadcast; scalar calls return Python scalars),
keyword-only past its first argument, carries units in its names and cites the source of
its constants (``docs/model.md``). The public API of each submodule is re-exported here.
"""

from aimarket.markets.calendar import add_months, month_index, month_start_date, normalise_month
from aimarket.markets.costs import (
    HOURS_PER_MONTH,
    ServingCost,
    TrainingCost,
    critical_batch,
    node_cost_usd_per_day,
    prefill_cost_usd_per_token,
    query_cost_usd,
    serving_cost,
    training_cost,
)
from aimarket.markets.demand import (
    NestShares,
    consumer_surplus_usd,
    draw_choices,
    nest_shares,
    success_probability,
    utility_z,
)
from aimarket.markets.hardware import (
    GPUS,
    GpuSpec,
    algorithmic_inference_multiplier,
    algorithmic_training_multiplier,
    doubling_multiplier,
    flop_per_usd_multiplier,
    get_gpu,
    gpu_at,
    gpu_rental_usd_per_hour,
    gpu_supply_multiplier,
    inference_chip_factor,
    memory_bandwidth_multiplier,
)
from aimarket.markets.metrics import (
    concentration_ratio,
    gross_margin,
    hhi,
    lerner_index,
    operating_margin,
    shares,
)
from aimarket.markets.posttraining import (
    post_training_frac,
    post_training_gain_oom,
    tool_token_frac,
)
from aimarket.markets.pricing import (
    LineSums,
    line_best_response,
    line_pricing_sums,
    markup_price_usd,
    owner_best_response,
)
from aimarket.markets.scaling import (
    CONSTANTS,
    DEFAULT_CONSTANTS,
    InferenceOptimum,
    ScalingConstants,
    capability_index,
    capability_index_for_loss,
    chinchilla_loss,
    compute_optimal,
    compute_optimal_flop_for_loss,
    compute_optimal_loss,
    get_constants,
    inference_optimal,
    iso_loss_tokens,
    training_flop,
)
from aimarket.markets.testtime import (
    TRADEOFFS,
    TaskClass,
    TradeoffParams,
    coverage,
    fit_coverage,
    samples_for_coverage,
    snell_matching_multiplier,
    testtime_gain_for_task,
    testtime_gain_oom,
)

__all__ = [
    "CONSTANTS",
    "DEFAULT_CONSTANTS",
    "GPUS",
    "HOURS_PER_MONTH",
    "TRADEOFFS",
    "GpuSpec",
    "InferenceOptimum",
    "LineSums",
    "NestShares",
    "ScalingConstants",
    "ServingCost",
    "TaskClass",
    "TradeoffParams",
    "TrainingCost",
    "add_months",
    "algorithmic_inference_multiplier",
    "algorithmic_training_multiplier",
    "capability_index",
    "capability_index_for_loss",
    "chinchilla_loss",
    "compute_optimal",
    "compute_optimal_flop_for_loss",
    "compute_optimal_loss",
    "concentration_ratio",
    "consumer_surplus_usd",
    "coverage",
    "critical_batch",
    "doubling_multiplier",
    "draw_choices",
    "fit_coverage",
    "flop_per_usd_multiplier",
    "get_constants",
    "get_gpu",
    "gpu_at",
    "gpu_rental_usd_per_hour",
    "gpu_supply_multiplier",
    "gross_margin",
    "hhi",
    "inference_chip_factor",
    "inference_optimal",
    "iso_loss_tokens",
    "lerner_index",
    "line_best_response",
    "line_pricing_sums",
    "markup_price_usd",
    "memory_bandwidth_multiplier",
    "month_index",
    "month_start_date",
    "nest_shares",
    "node_cost_usd_per_day",
    "normalise_month",
    "operating_margin",
    "owner_best_response",
    "post_training_frac",
    "post_training_gain_oom",
    "prefill_cost_usd_per_token",
    "query_cost_usd",
    "samples_for_coverage",
    "serving_cost",
    "shares",
    "snell_matching_multiplier",
    "success_probability",
    "testtime_gain_for_task",
    "testtime_gain_oom",
    "tool_token_frac",
    "training_cost",
    "training_flop",
    "utility_z",
]
