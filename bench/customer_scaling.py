"""Wall time and peak memory of a 120-month run at 10k, 100k and 1M customers, against a
bare numpy logit-choice kernel over the same customers x offerings x months.

Usage: ``python bench/customer_scaling.py [--sizes 10000 100000 1000000] [--months 120]``.
Each size runs in a fresh subprocess (peak memory from ``/proc/self/status`` VmHWM). The
last line is ``RESULT overhead_vs_numpy_kernel=X``: the run's time at the largest size
divided by the kernel's time over the same customers, offerings (the mean number of
offerings a customer chooses among in the run: since product lines, more are on sale than
any one segment is sold) and months. Goal: X <= 3.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from _common import save

HERE = Path(__file__).resolve().parent


def _vmhwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def choice_sets() -> Iterator[list[float]]:
    """Record, for every monthly choice made inside the block, the mean number of
    offerings a customer chooses among (what its segment is sold, weighted by customers):
    the size of the choice the bare kernel repeats."""
    import numpy as np

    from aimarket.agents.customers import CustomerPopulation

    sizes: list[float] = []
    choose = CustomerPopulation.choose

    def counted(self, offers):  # instrument the monthly choice: what each segment sees
        sold = offers.available.sum(axis=1)  # (s,) offerings sold to each segment
        sizes.append(float(np.average(sold, weights=np.diff(self.bounds))))
        return choose(self, offers)

    CustomerPopulation.choose = counted
    try:
        yield sizes
    finally:
        CustomerPopulation.choose = choose
    assert sizes, "the instrumented choice was never called"


def child_run(customers: int, months: int) -> dict:
    """One run of the baseline at ``customers``; wall time, memory, and the mean number of
    offerings each customer chooses among (the size of the choice the kernel repeats)."""
    import numpy as np

    from aimarket.sim.params import ModelParams
    from aimarket.sim.run import RunSpec, run_one

    params = ModelParams(customers=customers)
    spec = RunSpec(
        "bench", 0, 0, params, seed_entropy=20261123, spawn_key=(0,), horizon_months=months
    )
    with choice_sets() as sizes:
        t0 = time.perf_counter()
        result = run_one(spec)
        wall = time.perf_counter() - t0
    assert result.status == "done", result.error
    return {
        "wall_s": wall,
        "peak_rss_mib": _vmhwm_mib(),
        "offerings_mean": float(np.mean(sizes)),
        "offerings_on_sale_mean": float(
            result.tables["offers"].group_by("month").len()["len"].mean()
        ),
    }


def child_kernel(customers: int, offerings: int, months: int) -> dict:
    """A bare numpy logit choice: utilities, probabilities, one draw per customer, monthly."""
    import numpy as np

    rng = np.random.default_rng(0)
    value = rng.lognormal(size=customers)
    quality = rng.random(offerings)[:, None]
    price = rng.random(offerings)[:, None]
    t0 = time.perf_counter()
    for _ in range(months):
        z = quality - price / value  # (j, n)
        e = np.exp(z - z.max(axis=0))
        p = e / e.sum(axis=0)
        cdf = np.cumsum(p, axis=0)
        choice = (cdf < rng.random(customers)).sum(axis=0)
        np.bincount(choice, minlength=offerings)
    return {"wall_s": time.perf_counter() - t0, "peak_rss_mib": _vmhwm_mib()}


def _child(kind: str, *args: int) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--child", kind, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *nums = args.child
        fn = child_run if kind == "run" else child_kernel
        print(json.dumps(fn(*map(int, nums))))
        return
    runs = {}
    for n in args.sizes:
        runs[n] = _child("run", n, args.months)
        print(
            f"{n:>9,} customers: {runs[n]['wall_s']:8.2f} s"
            f"  peak {runs[n]['peak_rss_mib']:7.1f} MiB"
            f"  offerings per customer {runs[n]['offerings_mean']:.1f}"
            f" (on sale {runs[n]['offerings_on_sale_mean']:.1f})",
            flush=True,
        )
    largest = max(args.sizes)
    offerings = max(1, round(runs[largest]["offerings_mean"]))
    kernel = _child("kernel", largest, offerings, args.months)
    ratio = runs[largest]["wall_s"] / kernel["wall_s"]
    print(
        f"numpy kernel, {largest:,} customers x {offerings} offerings x {args.months} months: "
        f"{kernel['wall_s']:.2f} s"
    )
    save(
        "customer_scaling",
        {
            "months": args.months,
            "runs": {str(k): v for k, v in runs.items()},
            "kernel": {"customers": largest, "offerings": offerings, **kernel},
            "overhead_vs_numpy_kernel": ratio,
            "goals": {"overhead_vs_numpy_kernel": "<= 3", "wall_s_at_1M": "<= 60"},
        },
    )
    print(f"RESULT overhead_vs_numpy_kernel={ratio:.2f}")


if __name__ == "__main__":
    main()
