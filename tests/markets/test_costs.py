"""Tests for markets.costs: literature cost figures, the decode roofline, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.markets.costs import (
    HOURS_PER_MONTH,
    ServingCost,
    critical_batch,
    node_cost_usd_per_day,
    prefill_cost_usd_per_token,
    query_cost_usd,
    serving_cost,
    training_cost,
)
from aimarket.markets.hardware import GPUS

H100 = GPUS["h100"]
H100_KW = {
    "peak_flop_per_s": H100.peak_flop_per_s,
    "mem_bw_bytes_per_s": H100.mem_bw_bytes_per_s,
    "mem_bytes": H100.mem_bytes,
    "usd_per_gpu_hour": 2.0,
}


# --------------------------------------------------------------------------- literature


def test_deepseek_daily_serving_cost() -> None:
    # DeepSeek open-infra-index disclosure, 2025 (calibration.md "serving at scale"):
    # 226.75 H800 nodes x 8 GPUs x $2/GPU-h x 24 h = $87,072 per day. Exact.
    assert node_cost_usd_per_day(226.75, gpus_per_node=8, usd_per_gpu_hour=2.0) == 87_072.0


def test_gpt3_training_cost_order_of_magnitude() -> None:
    # Epoch training-cost data (calibration.md): GPT-3, 3.14e23 FLOP, ~$4.3M in cloud cost.
    # Assumptions: V100 SXM2 (125 TFLOPS FP16 tensor, NVIDIA datasheet), the hardware of
    # GPT-3's Microsoft cluster; MFU 0.3 (assumption: V100-era Megatron-style training
    # reached 20-50% of peak); $1.5 per V100-hour (assumption: 2020 committed-use cloud
    # price, against ~$3.06 on demand on AWS p3). Tolerance: within a factor of 3.
    cost = training_cost(
        3.14e23,
        peak_flop_per_s=GPUS["v100"].peak_flop_per_s,
        mfu=0.3,
        usd_per_gpu_hour=1.5,
        gpus=10_000,
    )
    assert 4.3e6 / 3 <= cost.usd <= 4.3e6 * 3
    # Measured: 2.33M V100-hours, $3.5M, ~0.32 months on 10,000 GPUs (Brown et al. 2020
    # report no duration; the order of magnitude of weeks is what matters here).
    assert cost.gpu_hours == pytest.approx(2.326e6, rel=1e-3)


def test_gpt4_training_cost_order_of_magnitude() -> None:
    # Epoch (calibration.md): GPT-4 ~2.1e25 FLOP, ~$79M. Assumptions: A100 (312 TFLOPS
    # dense BF16, NVIDIA datasheet), MFU 0.35 (assumption), $1.5 per A100-hour (assumption:
    # 2022 committed-use price). Tolerance: within a factor of 3.
    cost = training_cost(
        2.1e25,
        peak_flop_per_s=GPUS["a100"].peak_flop_per_s,
        mfu=0.35,
        usd_per_gpu_hour=1.5,
        gpus=25_000,
    )
    assert 79e6 / 3 <= cost.usd <= 79e6 * 3


def test_llama3_405b_gpu_hours_at_default_mfu() -> None:
    # Meta (calibration.md): Llama-3.1-405B, 3.8e25 FLOP over 30.84M H100-hours. At the
    # default MFU 0.4 the model gives 26.7M hours. Tolerance ±20%.
    cost = training_cost(3.8e25, peak_flop_per_s=H100.peak_flop_per_s, usd_per_gpu_hour=2.0, gpus=1)
    assert cost.gpu_hours == pytest.approx(30.84e6, rel=0.20)


def test_training_duration_uses_730_hour_months() -> None:
    cost = training_cost(
        3600.0 * 730.0 * 100.0, peak_flop_per_s=1.0, mfu=1.0, usd_per_gpu_hour=3.0, gpus=10
    )
    assert HOURS_PER_MONTH == 730.0
    assert cost.gpu_hours == pytest.approx(73_000.0)
    assert cost.months == pytest.approx(10.0)
    assert cost.usd == pytest.approx(219_000.0)


# --------------------------------------------------------------------------- roofline


def test_serving_is_memory_bound_at_small_and_compute_bound_at_large_batch() -> None:
    small = serving_cost(70e9, batch=1, **H100_KW)
    large = serving_cost(70e9, batch=4096, **H100_KW)
    assert isinstance(small, ServingCost)
    assert small.memory_bound
    assert not large.memory_bound
    # Batch 1 on one 8-GPU node: 140 GB of BF16 weights over 8 x 3.35 TB/s = 5.22 ms/token.
    assert small.latency_s_per_token == pytest.approx(140e9 / (8 * 3.35e12), rel=1e-12)
    assert small.gpus == 8.0
    # A faster tier costs more per token (calibration.md claims: smaller batches spread the
    # weight loading over fewer requests).
    assert small.usd_per_token > large.usd_per_token
    assert small.latency_s_per_token < large.latency_s_per_token


def test_replica_size_rounds_up_to_whole_nodes() -> None:
    # 405B in BF16 = 810 GB; 64 GB usable per H100 -> 13 GPUs -> 2 nodes of 8.
    assert serving_cost(405e9, batch=1, **H100_KW).gpus == 16.0
    assert serving_cost(405e9, batch=1, gpus_per_node=4, **H100_KW).gpus == 16.0
    assert serving_cost(1e9, batch=1, **H100_KW).gpus == 8.0
    assert serving_cost(405e9, batch=1, bytes_per_param=1.0, **H100_KW).gpus == 8.0


def test_critical_batch_is_where_the_roofline_turns() -> None:
    b_star = critical_batch(
        peak_flop_per_s=H100.peak_flop_per_s, mem_bw_bytes_per_s=H100.mem_bw_bytes_per_s
    )
    # NVIDIA H100 datasheet ops:byte ratio 989e12 / 3.35e12 = 295 FLOP/B; with 2 FLOP and
    # 2 bytes per parameter and MFU 0.5 the crossover batch is half of it.
    assert b_star == pytest.approx(0.5 * 989e12 / 3.35e12, rel=1e-12)
    assert serving_cost(70e9, batch=np.floor(b_star), **H100_KW).memory_bound
    assert not serving_cost(70e9, batch=np.ceil(b_star), **H100_KW).memory_bound


def test_compute_bound_decode_costs_the_same_as_prefill() -> None:
    # Past the critical batch a decode token needs 2N FLOP at the same MFU as prefill.
    decode = serving_cost(70e9, batch=10_000, **H100_KW).usd_per_token
    prefill = prefill_cost_usd_per_token(
        70e9, peak_flop_per_s=H100.peak_flop_per_s, usd_per_gpu_hour=2.0
    )
    assert decode == pytest.approx(prefill, rel=1e-12)


def test_serving_cost_broadcasts() -> None:
    out = serving_cost(np.array([[7e9], [70e9]]), batch=np.array([1.0, 16.0, 1024.0]), **H100_KW)
    assert out.usd_per_token.shape == (2, 3)
    assert out.memory_bound.dtype == np.bool_
    assert out.usd_per_token[1, 2] == serving_cost(70e9, batch=1024.0, **H100_KW).usd_per_token


@given(
    params=st.floats(min_value=1e8, max_value=2e12),
    b1=st.floats(min_value=1.0, max_value=1e5),
    factor=st.floats(min_value=1.0, max_value=100.0),
    gpu=st.sampled_from(sorted(GPUS)),
)
def test_bigger_batch_is_cheaper_and_never_faster(
    params: float, b1: float, factor: float, gpu: str
) -> None:
    spec = GPUS[gpu]
    kw = {
        "peak_flop_per_s": spec.peak_flop_per_s,
        "mem_bw_bytes_per_s": spec.mem_bw_bytes_per_s,
        "mem_bytes": spec.mem_bytes,
        "usd_per_gpu_hour": 2.0,
    }
    small = serving_cost(params, batch=b1, **kw)
    big = serving_cost(params, batch=b1 * factor, **kw)
    assert big.usd_per_token <= small.usd_per_token * (1 + 1e-12)
    assert big.latency_s_per_token >= small.latency_s_per_token
    if big.memory_bound and factor > 1.0:
        # Both batches are memory-bound: the same step is shared by more sequences.
        assert big.usd_per_token < small.usd_per_token


# --------------------------------------------------------------------------- small helpers


def test_query_cost_scales_with_tokens_and_reasoning() -> None:
    assert query_cost_usd(2e-6, tokens_per_query=500.0) == pytest.approx(1e-3)
    assert query_cost_usd(2e-6, tokens_per_query=500.0, inference_multiplier=30.0) == (
        pytest.approx(3e-2)
    )


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: training_cost(-1.0, peak_flop_per_s=1e15, usd_per_gpu_hour=2, gpus=8), "flop"),
        (
            lambda: training_cost(1e24, peak_flop_per_s=1e15, mfu=1.5, usd_per_gpu_hour=2, gpus=8),
            "mfu",
        ),
        (lambda: training_cost(1e24, peak_flop_per_s=1e15, usd_per_gpu_hour=2, gpus=0), "gpus"),
        (lambda: serving_cost(7e9, batch=0.5, **H100_KW), "batch"),
        (lambda: serving_cost(-7e9, batch=1, **H100_KW), "params"),
        (lambda: serving_cost(7e9, batch=1, gpus_per_node=2.5, **H100_KW), "gpus_per_node"),
        (lambda: query_cost_usd(1e-6, tokens_per_query=-1.0), "tokens_per_query"),
        (lambda: node_cost_usd_per_day(-1.0, usd_per_gpu_hour=2.0), "nodes"),
    ],
)
def test_invalid_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
