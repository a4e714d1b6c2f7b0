"""A wrapper's scaffolding and how fast it loses its worth (docs/model.md, wrappers)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aimarket.agents.products import scaffold_bonus_oom


@given(
    gain=st.floats(0.0, 10.0),
    more=st.floats(0.01, 5.0),
    bonus=st.floats(0.01, 1.0),
    decay=st.floats(0.1, 2.0),
)
def test_scaffolding_is_worth_less_the_further_the_frontier_has_moved(
    gain: float, more: float, bonus: float, decay: float
) -> None:
    # The mechanism behind question 6: the same scaffolding adds less once the frontier has
    # gained more since it was built, and all of its bonus when it has gained nothing.
    assert scaffold_bonus_oom(gain + more, bonus, decay) < scaffold_bonus_oom(gain, bonus, decay)
    assert scaffold_bonus_oom(0.0, bonus, decay) == bonus
