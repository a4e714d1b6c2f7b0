"""``aimarket`` and ``python -m aimarket``: pin the numerics, then run the CLI.

The pin (:func:`experiments.numerics.pin_numerics`) has to come before numpy loads, so
this module imports the CLI only after it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aimarket.experiments.numerics import pin_numerics

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aimarket`` console script."""
    pin_numerics()
    from aimarket.experiments.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
