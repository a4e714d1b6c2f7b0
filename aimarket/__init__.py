"""aimarket: a discrete-event, agent-based simulator of the AI model market.

One import package whose four subpackages are the layers of the model, lowest first:

- :mod:`aimarket.markets`: pure numpy economics (scaling, costs, demand, pricing, metrics);
- :mod:`aimarket.agents`: firms and customers and their decision rules;
- :mod:`aimarket.sim`: one run (the simpy clock, the Mesa model, its tables; no file I/O);
- :mod:`aimarket.experiments`: configs, sweeps, the store, analysis and the CLI.

Each layer imports only the layers below it (checked by import-linter). Importing this
package loads nothing else: the ``aimarket`` command fixes numpy's SIMD code before numpy
loads (see :mod:`aimarket.experiments.numerics`).

>>> import aimarket
>>> aimarket.__version__
'0.2.0'
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.2.0"
