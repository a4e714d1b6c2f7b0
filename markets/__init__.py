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
    Task success, customer utility, logit choice, sampling and consumer surplus.
pricing
    Cost-plus prices and the logit best-response markup.
metrics
    Shares, HHI, CR-k, gross and operating margins, the Lerner index.

Every function is vectorised (arguments broadcast; scalar calls return Python scalars),
keyword-only past its first argument, carries units in its names and cites the source of
its constants (``docs/model.md``). The public API of each submodule is re-exported here.
"""

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
    choice_probabilities,
    logit,
    logsum_surplus_usd,
    sample_choices,
    success_probability,
    utility_usd,
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
from aimarket.markets.pricing import (
    best_response_price_usd,
    best_response_sums,
    markup_price_usd,
    nest_best_response_sums,
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
    "ScalingConstants",
    "ServingCost",
    "TaskClass",
    "TradeoffParams",
    "TrainingCost",
    "algorithmic_inference_multiplier",
    "algorithmic_training_multiplier",
    "best_response_price_usd",
    "best_response_sums",
    "capability_index",
    "capability_index_for_loss",
    "chinchilla_loss",
    "choice_probabilities",
    "compute_optimal",
    "compute_optimal_flop_for_loss",
    "compute_optimal_loss",
    "concentration_ratio",
    "coverage",
    "critical_batch",
    "doubling_multiplier",
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
    "logit",
    "logsum_surplus_usd",
    "markup_price_usd",
    "memory_bandwidth_multiplier",
    "nest_best_response_sums",
    "node_cost_usd_per_day",
    "operating_margin",
    "prefill_cost_usd_per_token",
    "query_cost_usd",
    "sample_choices",
    "samples_for_coverage",
    "serving_cost",
    "shares",
    "snell_matching_multiplier",
    "success_probability",
    "testtime_gain_for_task",
    "testtime_gain_oom",
    "training_cost",
    "training_flop",
    "utility_usd",
]
