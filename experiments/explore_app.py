"""The page ``aimarket explore`` serves: Mesa's SolaraViz over one run of a config.

The page shows replicate 0 of the config's base point (the run ``aimarket run`` stores as
``p000000-r0000``) and lets a user vary a few ``[model]`` keys (:data:`KNOBS`, by dotted
path as ``--set`` does) and the replicate; as everywhere in SolaraViz, **Reset** builds a
new model from them. One model step is one month. The plots (concentration, prices,
margins) and the firms table read the model's own monthly rows (``MarketModel.tables()``,
the recorder behind every stored table, no Mesa ``DataCollector``), so the page shows what a
store would hold.

``solara run aimarket.experiments.explore_app`` serves it (see
:mod:`aimarket.experiments.explore`): solara looks up ``Page`` here, which is built on that
first look-up from the config that ``aimarket explore`` put in the environment. Importing
the module needs neither a config nor solara; building a page needs the ``viz`` extra.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from aimarket.agents.params import Regime
from aimarket.experiments.config import (
    ExperimentConfig,
    apply_overrides,
    load_config,
    validate_config,
)
from aimarket.experiments.explore import CONFIG_VARIABLE, OVERRIDES_VARIABLE
from aimarket.experiments.runner import run_id_for
from aimarket.sim.model import MarketModel
from aimarket.sim.run import RunSpec

__all__ = [
    "FIRM_COLUMNS",
    "KNOBS",
    "PLOTS",
    "REPLICATES",
    "ExploreModel",
    "Knob",
    "Page",  # noqa: F822 (built on first look-up, by __getattr__)
    "Plot",
    "describe",
    "explore_page",
    "figure",
    "knob_value",
    "latest_firms",
    "model_params",
    "series",
]


@dataclass(frozen=True, slots=True)
class Knob:
    """A page input: a ``[model]`` key by dotted path, and its range (within what the
    config accepts; widened to hold the config's own value)."""

    path: str
    label: str
    kind: str  # SliderInt | SliderFloat | Select
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0
    values: tuple[str, ...] = ()


#: The page's inputs (short labels: a SolaraViz slider's track shares its row with the label).
KNOBS: tuple[Knob, ...] = (
    Knob("labs", "labs", "SliderInt", 1, 12, 1),
    Knob("market.regime", "regime", "Select", values=tuple(r.value for r in Regime)),
    Knob("demand.elasticity", "elasticity", "SliderFloat", 1.2, 6.0, 0.1),
    Knob("hardware.price_performance_doubling_years", "GPU 2x (years)", "SliderFloat", 0.5, 5, 0.1),
    Knob("entry.startup_arrivals_per_year", "startups/year", "SliderFloat", 0, 12, 0.5),
)
#: Replicates the page offers (replicate r is seeded as ``aimarket run``'s replicate r).
REPLICATES = 10


@dataclass(frozen=True, slots=True)
class Plot:
    """A plot of ``market`` columns over the run's months."""

    title: str
    columns: tuple[str, ...]
    log: bool = False
    right: tuple[str, ...] = ()  # columns on a second y axis


PLOTS: tuple[Plot, ...] = (
    Plot("Concentration (HHI of revenue, CR1)", ("hhi_revenue",), right=("cr1",)),
    Plot(
        "Cheapest price per Mtok at GPT-4 / GPT-3.5 level (USD)",
        ("price_usd_per_mtok_at_gpt4", "price_usd_per_mtok_at_gpt35"),
        log=True,
    ),
    Plot("Margins", ("gross_margin", "operating_margin")),
    Plot("Demand: customers using AI; tokens a month (right)", ("users",), right=("tokens",)),
    Plot(
        "Compute: spot USD per GPU-hour; share of serving need served (right)",
        ("usd_per_gpu_hour",),
        right=("served_frac",),
    ),
)

FIRM_COLUMNS = (
    "firm_id",
    "kind",
    "business_model",
    "share_revenue",
    "revenue_usd",
    "gross_margin",
    "operating_margin",
    "price_usd_per_query",
    "cash_usd",
    "kappa",
    "models_on_sale",
    "contracted_gpus",
    "served_frac",
)


class ExploreModel(MarketModel):
    """Replicate ``replicate`` of a config's base point, with ``[model]`` keys overridden.

    Keyword arguments are dotted ``[model]`` paths (``labs=6``, ``**{"market.regime":
    "upfront_heavy"}``), which is how SolaraViz passes its inputs. Without any, the model is
    the run ``aimarket run`` stores for the replicate.
    """

    def __init__(self, config: ExperimentConfig, replicate: int = 0, **kwargs: Any) -> None:
        overrides = [(("model", *key.split(".")), value) for key, value in kwargs.items()]
        if overrides:
            data = apply_overrides(config.model_dump(mode="json"), overrides)
            config = validate_config(data, source="aimarket explore")
        exp = config.experiment
        spec = RunSpec(
            run_id=run_id_for(0, replicate),
            point_id=0,
            replicate=replicate,
            params=config.model,
            seed_entropy=exp.seed,
            spawn_key=(replicate,),
        )
        super().__init__(
            config.model,
            seed=spec.seed,
            horizon_months=exp.horizon_months,
            start_month=exp.start,
            run_id=spec.run_id,
        )
        self.replicate = replicate
        self._lock = threading.Lock()  # SolaraViz steps in a thread; pages read rows
        self._rows: tuple[int, dict[str, pl.DataFrame]] | None = None

    def step(self) -> None:
        """One month (see :meth:`MarketModel.step`)."""
        with self._lock:
            super().step()

    def rows(self) -> dict[str, pl.DataFrame]:
        """The run's tables so far (``MarketModel.tables()``), built once a month."""
        with self._lock:
            if self._rows is None or self._rows[0] != self.month:
                self._rows = (self.month, self.tables())
            return self._rows[1]


def series(model: ExploreModel) -> pl.DataFrame:
    """The ``market`` rows the plots show: month, date and every plotted column."""
    columns = [c for plot in PLOTS for c in (*plot.columns, *plot.right)]
    return model.rows()["market"].select("month", "date", *columns)


def latest_firms(model: ExploreModel) -> pl.DataFrame:
    """The latest month's ``firms`` rows: date and :data:`FIRM_COLUMNS`, largest first."""
    firms = model.rows()["firms"]
    latest = firms.filter(pl.col("month") == pl.col("month").max())
    return latest.select("date", *FIRM_COLUMNS).sort(
        "share_revenue", descending=True, nulls_last=True
    )


def knob_value(params: Any, path: str) -> Any:
    """The value at dotted ``path`` of ``params`` (a ``ModelParams``), an enum as its value."""
    node = params
    for part in path.split("."):
        node = getattr(node, part)
    return node.value if isinstance(node, Regime) else node


def describe(model: ExploreModel) -> str:
    """One line naming the run shown: its replicate and the value of every knob."""
    values = ", ".join(f"{k.label} {knob_value(model.params, k.path)}" for k in KNOBS)
    return f"replicate {model.replicate}: {values}"


def figure(model: ExploreModel, plot: Plot) -> Any:
    """A matplotlib ``Figure`` of ``plot`` from the model's rows (no pyplot: thread-safe)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    rows = series(model)
    fig = Figure(figsize=(6.0, 3.2), dpi=90, layout="constrained")
    ax = fig.subplots()
    dates = rows["date"].to_list()
    for column in plot.columns:
        ax.plot(dates, rows[column].to_numpy(), label=column)
    if plot.log:
        ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    if plot.right:
        twin = ax.twinx()
        for column in plot.right:
            twin.plot(dates, rows[column].to_numpy(), "--", color="C3", label=column)
        twin.set_ylim(0.0, 1.0)
        more = twin.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, fontsize="small", loc="best")
    ax.set_title(plot.title, fontsize="medium")
    if not dates:  # no month yet: no made-up 1970 date axis
        ax.set_xticks([])
        return fig
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig


def _caption(model: ExploreModel, plot: Plot) -> str:
    rows = series(model)
    if rows.height == 0:
        return "no months yet: press Step or ▶"
    last = rows.row(-1, named=True)
    shown = ", ".join(
        f"{c} {last[c]:,.4g}" if last[c] is not None else f"{c} –"
        for c in (*plot.columns, *plot.right)
    )
    return f"{last['date']:%Y-%m}: {shown}"


def model_params(config: ExperimentConfig) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the config (fixed), a replicate and :data:`KNOBS`."""
    params: dict[str, Any] = {"config": config}
    params["replicate"] = {
        "type": "SliderInt",
        "label": "replicate",
        "value": 0,
        "min": 0,
        "max": REPLICATES - 1,
        "step": 1,
    }
    for knob in KNOBS:
        value = knob_value(config.model, knob.path)
        if knob.kind == "Select":
            params[knob.path] = {
                "type": "Select",
                "label": knob.label,
                "value": value,
                "values": list(knob.values),
            }
            continue
        params[knob.path] = {
            "type": knob.kind,
            "label": knob.label,
            "value": value,
            "min": min(knob.low, value),
            "max": max(knob.high, value),
            "step": _step(knob, value),
        }
    return params


def _step(knob: Knob, value: float) -> float:
    """The knob's step, or a finer one if the config's value is off its grid: a Vuetify
    slider rounds its value to the grid, which would change the config's own run."""
    if abs((value - knob.low) / knob.step - round((value - knob.low) / knob.step)) < 1e-9:
        return knob.step
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return 10.0 ** min(int(exponent), 0)


def explore_page(config: ExperimentConfig) -> Any:
    """The page component for ``config``: SolaraViz over an :class:`ExploreModel`, with a
    plot per :data:`PLOTS` and the latest month's firms. Each browser session gets its
    own model."""
    import solara
    from mesa.visualization import SolaraViz

    def plot_component(plot: Plot) -> Any:
        def component(model: ExploreModel) -> Any:
            fig = solara.use_memo(lambda: figure(model, plot), [model, model.month])
            with solara.Column(classes=["aimarket-plot"]) as column:
                solara.Text(_caption(model, plot), classes=["aimarket-caption"])
                solara.FigureMatplotlib(fig, dependencies=[model, model.month], format="png")
            return column

        return component

    def firms_component(model: ExploreModel) -> Any:
        firms = latest_firms(model)
        when = f"{firms['date'][0]:%Y-%m}" if firms.height else "no months yet"
        with solara.Column(classes=["aimarket-firms"]) as column:
            solara.Text(describe(model), classes=["aimarket-run"])
            solara.Text(f"Firms, {when}", classes=["aimarket-caption"])
            shown = firms.drop("date").with_columns(
                pl.col(pl.Float64).map_elements(lambda v: f"{v:.3g}", return_dtype=pl.String)
            )
            solara.DataFrame(shown, items_per_page=20, scrollable=True)
        return column

    components = [plot_component(p) for p in PLOTS] + [firms_component]

    @solara.component
    def page() -> Any:
        model = solara.use_memo(lambda: ExploreModel(config), [])
        return SolaraViz(
            model,
            components=components,
            model_params=model_params(config),
            name=f"aimarket explore: {config.experiment.name}",
        )

    return page


def __getattr__(name: str) -> Any:
    """``Page``: the page of the config named by :data:`CONFIG_VARIABLE` (solara's look-up)."""
    if name != "Page":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    path = os.environ.get(CONFIG_VARIABLE)
    if not path:
        raise RuntimeError(f"{CONFIG_VARIABLE} is not set: start the page with `aimarket explore`")
    overrides = json.loads(os.environ.get(OVERRIDES_VARIABLE, "[]"))
    page = explore_page(load_config(path, overrides))
    globals()["Page"] = page
    return page
