# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From a config to a figure
#
# The regimes question (`experiments/configs/regimes.toml`): does an upfront-heavy world
# concentrate more than an inference-heavy one? This notebook runs a small version of it
# (3 replications of each regime, 1,000 customers, 3 years: under a minute on one core),
# reads the store, compares the regimes replicate by replicate, and draws one figure.
#
# Open it with `jupytext` (`jupyter lab` opens a `# %%` file as a notebook), or run it as a
# script: `python docs/notebooks/walkthrough.py`; the figure lands in the working directory.
# `tests/test_notebooks.py` runs it on every `make test`.

# %%
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

import matplotlib.pyplot as plt

from aimarket.experiments.analysis import paired_differences, point_statistics, scan

CONFIG = resources.files("aimarket.experiments") / "configs" / "regimes.toml"
print(CONFIG.read_text())

# %% [markdown]
# ## A small sweep
#
# The same as `aimarket sweep experiments/configs/regimes.toml --out OUT --set ...` in a
# shell; `--set` makes it small. The store goes to a temporary folder.

# %%
work = tempfile.TemporaryDirectory(prefix="aimarket-walkthrough-")
OUT = Path(work.name) / "regimes"
SMALL = {
    "experiment.replications": 3,
    "experiment.horizon_months": 36,
    "model.customers": 1_000,
}
command = [sys.executable, "-m", "aimarket", "sweep", str(CONFIG), "--out", str(OUT)]
command += ["--workers", "1", "--quiet"]
command += [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={value}")]
subprocess.run(command, check=True)

# %% [markdown]
# ## Read it
#
# `scan` reads a table's rows of finished runs, each run once, with the design point's
# parameters (`market.regime`) and the replicate joined.

# %%
market = scan(OUT, "market").select("market.regime", "replicate", "date", "hhi_revenue").collect()
market.head()

# %% [markdown]
# ## Compare
#
# Replicate `r` of both regimes shares its seed (common random numbers), so the difference
# of each pair cancels much of the run-to-run noise. Point 0 is upfront-heavy.

# %%
METRIC = "hhi_revenue_mean"  # HHI of revenue, mean over the months of a run (0-10,000)
per_point = point_statistics(OUT, [METRIC])
paired = paired_differences(OUT, METRIC, baseline=0)
print(per_point.select("market.regime", "n", "mean", "ci_low", "ci_high"))
print(paired.select("market.regime", "n", "mean_diff", "ci_low", "ci_high", "p_value"))

# %% [markdown]
# ## One figure
#
# Left: HHI month by month, one line per run. Right: each regime's mean over its runs with
# its 95% interval, and the paired difference. Three replications make wide intervals:
# the shipped config runs ten.

# %%
colours = {"upfront_heavy": "tab:blue", "inference_heavy": "tab:orange"}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), width_ratios=(2, 1))
for (regime, replicate), run in market.sort("date").group_by(
    "market.regime", "replicate", maintain_order=True
):
    label = regime if replicate == 0 else None
    left.plot(run["date"], run["hhi_revenue"], color=colours[regime], alpha=0.7, label=label)
left.set(ylabel="HHI of revenue (0-10,000)", title="Concentration, month by month")
left.legend(title="regime")
for x, row in enumerate(per_point.iter_rows(named=True)):
    regime = row["market.regime"]
    low, high = row["ci_low"], row["ci_high"]
    yerr = [[row["mean"] - low], [high - row["mean"]]] if low is not None else None
    right.errorbar(x, row["mean"], yerr=yerr, fmt="o", capsize=6, color=colours[regime])
right.set_xticks(range(per_point.height), per_point["market.regime"].to_list())
right.set_xlim(-0.5, per_point.height - 0.5)
diff = paired.row(0, named=True)
right.set(
    ylabel="mean HHI over the run, 95% interval",
    title=f"inference − upfront: {diff['mean_diff']:+,.0f} "
    f"[{diff['ci_low']:+,.0f}, {diff['ci_high']:+,.0f}]",
)
fig.tight_layout()
FIGURE = Path("walkthrough_hhi.png")
fig.savefig(FIGURE, dpi=100)
print(f"wrote {FIGURE.resolve()}")

# %%
work.cleanup()  # the store goes with its folder; keep it (skip this cell) to explore further
