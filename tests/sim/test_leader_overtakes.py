"""The month the leading firm's serving spend reaches its training spend."""

from __future__ import annotations

import polars as pl

from aimarket.sim.run import leader_overtakes_month


def firms(rows: list[tuple[int, int, str, float, float, float]]) -> pl.DataFrame:
    cols = ["firm_id", "month", "kind", "revenue_usd", "training_spend_usd", "serving_cost_usd"]
    return pl.DataFrame(rows, schema=cols, orient="row")


def test_only_the_leaders_crossing_counts() -> None:
    table = firms(
        [
            # the leader: trains 100 in month 1, serves 40 a month
            (1, 0, "lab", 50.0, 0.0, 40.0),
            (1, 1, "lab", 50.0, 100.0, 40.0),
            (1, 2, "lab", 50.0, 0.0, 40.0),
            (1, 3, "lab", 50.0, 0.0, 40.0),
            # a smaller firm whose serving passes its training at once
            (2, 0, "startup", 1.0, 1.0, 5.0),
            (2, 1, "startup", 1.0, 0.0, 5.0),
            (2, 2, "startup", 1.0, 0.0, 5.0),
            (2, 3, "startup", 1.0, 0.0, 5.0),
            # the fringe sells the most but is not a firm
            (0, 0, "open_weights", 999.0, 0.0, 0.0),
        ]
    )
    assert leader_overtakes_month(table) == 2  # 40+40+40 >= 100 in month 2


def test_a_leader_that_never_trains_has_no_crossing() -> None:
    table = firms([(1, m, "lab", 10.0, 0.0, 5.0) for m in range(4)])
    assert leader_overtakes_month(table) is None
