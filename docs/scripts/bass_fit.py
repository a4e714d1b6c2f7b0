"""The Bass diffusion fit behind ``demand.adoption``'s defaults (docs/model.md).

Fits the closed-form Bass curve ``N(t) = M (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})`` to
ChatGPT's weekly active users (shared/anchors.md, "Demand"; months since its launch in
Nov 2022) by least squares and prints the potential ``M``, ``p`` and ``q`` (per month).

Usage: ``python docs/scripts/bass_fit.py``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

#: (months since Nov 2022, weekly active users in millions): 100M Nov 2023, 200M Aug 2024,
#: 300M Dec 2024, 400M Feb 2025, ~700M Aug 2025, 800M Oct 2025 (OpenAI announcements).
CHATGPT_WAU = np.array([(12, 100), (21, 200), (25, 300), (27, 400), (33, 700), (35, 800)], float)


def bass_users(t: np.ndarray, potential: float, p: float, q: float) -> np.ndarray:
    """Cumulative adopters of a Bass process at months ``t`` from its start."""
    e = np.exp(-(p + q) * t)
    return potential * (1.0 - e) / (1.0 + (q / p) * e)


def fit() -> tuple[float, float, float]:
    """``(potential_millions, p_per_month, q_per_month)``."""
    t, users = CHATGPT_WAU.T
    (potential, p, q), _ = curve_fit(
        bass_users, t, users, p0=(2000.0, 0.005, 0.1), bounds=([800, 1e-6, 1e-3], [2e4, 0.2, 1.0])
    )
    return float(potential), float(p), float(q)


if __name__ == "__main__":
    potential, p, q = fit()
    print(f"potential {potential:,.0f}M users, p = {p:.2e} / month, q = {q:.3f} / month")
