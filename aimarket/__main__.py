"""``python -m aimarket``: the ``aimarket`` command (see :mod:`aimarket.experiments.cli`)."""

from __future__ import annotations

import sys

from aimarket.experiments.__main__ import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
