"""``aimarket explore``: the SolaraViz page of one run, its model, its command and its server.

The model and plot tests need no browser. The page test renders the page with solara, no
server. The browser test starts ``aimarket explore`` and drives Debian's ``chromium`` and
``chromium-driver`` through selenium: without them it is skipped with the reason, unless
``AIMARKET_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where their absence fails it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from aimarket.experiments import explore
from aimarket.experiments.cli import main
from aimarket.experiments.config import ExperimentConfig, apply_overrides, load_config
from aimarket.experiments.explore_app import (
    KNOBS,
    PLOTS,
    ExploreModel,
    describe,
    figure,
    latest_firms,
    model_params,
    series,
)
from aimarket.experiments.runner import base_point_specs
from aimarket.sim.run import run_one

from .browser import headless_chrome, require_browser

TINY = """
[experiment]
name = "tiny-explore"
seed = 5
replications = 2
horizon_months = 24

[model]
labs = 3
customers = 200

[model.demand]
elasticity = 2.35
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture
def config(config_path: Path) -> ExperimentConfig:
    return load_config(config_path)


def _stepped(model: ExploreModel, months: int) -> ExploreModel:
    for _ in range(months):
        model.step()
    return model


def test_the_page_model_is_the_base_point_run_and_plots_its_rows(config) -> None:
    model = _stepped(ExploreModel(config), 5)
    spec = dataclasses.replace(base_point_specs(config)[0], horizon_months=5)
    stored = run_one(spec).tables  # what `aimarket run` stores for replicate 0
    for table in ("market", "firms", "offers", "models", "events"):
        assert model.rows()[table].equals(stored[table]), table
    market = stored["market"]
    shown = series(model)
    assert shown.height == 5
    assert shown.equals(market.select(shown.columns))
    for plot in PLOTS:
        fig = figure(model, plot)
        lines = [line for ax in fig.axes for line in ax.get_lines()]
        assert [line.get_label() for line in lines] == [*plot.columns, *plot.right]
        for line in lines:
            want = market[line.get_label()].to_numpy().astype(float)
            np.testing.assert_array_equal(np.asarray(line.get_ydata(), dtype=float), want)
        assert fig.axes[0].get_yscale() == ("log" if plot.log else "linear")
    firms = stored["firms"].filter(pl.col("month") == 4)
    latest = latest_firms(model)
    assert latest.height == firms.height > 0
    assert latest.equals(
        firms.select(latest.columns).sort("share_revenue", descending=True, nulls_last=True)
    )


def test_page_inputs_override_model_keys_and_choose_the_replicate(config) -> None:
    model = ExploreModel(config, replicate=1, **{"labs": 5, "market.regime": "upfront_heavy"})
    assert model.params.labs == 5
    assert model.params.market.regime == "upfront_heavy"
    assert model.params.demand.elasticity == 2.35  # the config's own, kept
    assert describe(model).startswith("replicate 1: labs 5, regime upfront_heavy, elasticity 2.35")
    data = apply_overrides(
        config.model_dump(mode="json"),
        [(("model", "labs"), 5), (("model", "market", "regime"), "upfront_heavy")],
    )
    spec = dataclasses.replace(
        base_point_specs(ExperimentConfig.model_validate(data))[1], horizon_months=3
    )
    assert _stepped(model, 3).rows()["market"].equals(run_one(spec).tables["market"])


def test_page_inputs_start_at_the_config_within_what_it_accepts(config) -> None:
    params = model_params(config)
    assert params["config"] is config
    inputs = {k: v for k, v in params.items() if isinstance(v, dict)}
    assert set(inputs) == {"replicate", *(k.path for k in KNOBS)}
    # Reset with untouched inputs rebuilds the config's own run.
    start = ExploreModel(config, **{k: v["value"] for k, v in inputs.items() if k != "replicate"})
    assert start.params == config.model
    for path, spec in inputs.items():
        if spec["type"] == "Select":
            candidates = spec["values"]
        else:
            lo, hi, step = spec["min"], spec["max"], spec["step"]
            candidates = [lo, hi]
            # a Vuetify slider rounds its value to min + k * step: the config's must be on it
            k = (spec["value"] - lo) / step
            assert math.isclose(k, round(k), abs_tol=1e-9), (path, spec)
        if path == "replicate":
            continue
        for value in candidates:  # every end of a range is a valid config
            assert ExploreModel(config, **{path: value}).params is not None
    assert inputs["demand.elasticity"]["value"] == 2.35
    assert inputs["hardware.price_performance_doubling_years"]["step"] == 0.01  # 2.07


def test_rows_wait_for_a_month_in_progress(config) -> None:
    # SolaraViz steps the model in a thread while the page may read its rows in another.
    model = ExploreModel(config)
    record = model.recorder.market
    reads: list[int] = []
    readers: list[threading.Thread] = []

    def market(month: int, **values: float) -> None:  # half-way through recording a month
        reader = threading.Thread(target=lambda: reads.append(model.rows()["market"].height))
        reader.start()
        reader.join(timeout=0.3)
        readers.append(reader)
        record(month, **values)

    model.recorder.market = market  # type: ignore[method-assign]
    model.step()
    assert readers[0].is_alive()  # the read waited for the month ...
    readers[0].join()
    assert reads == [1]  # ... and then saw all of it
    model.step()
    readers[1].join()
    assert reads == [1, 2]  # a new month's rows, not the cached ones


def _walk(widget: Any) -> Iterator[Any]:
    import ipywidgets

    yield widget
    for name in ("children", "items"):
        for child in getattr(widget, name, None) or []:
            if isinstance(child, ipywidgets.Widget):
                yield from _walk(child)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*found despite early return:UserWarning")  # mesa 3.3's
def test_page_renders_steps_and_rebuilds_from_its_inputs(config) -> None:
    solara = pytest.importorskip("solara")
    import ipyvuetify as v
    import ipywidgets

    from aimarket.experiments.explore_app import explore_page

    box, rc = solara.render(solara.AppLayout(children=[explore_page(config)()]), handle_error=False)
    try:

        def find(cls: type, **attrs: Any) -> list[Any]:
            return [
                w
                for w in _walk(box)
                if isinstance(w, cls) and all(getattr(w, k, None) == x for k, x in attrs.items())
            ]

        def texts(css: str) -> list[str]:
            return [w.children[0] for w in find(v.Html, class_=css)]

        def click(label: str) -> None:
            [button] = find(v.Btn, children=[label])
            button.click()

        assert [s.label for s in find(v.Slider)][2:] == [
            "replicate",
            *(k.label for k in KNOBS if k.kind != "Select"),
        ]
        assert texts("aimarket-caption")[0] == "no months yet: press Step or ▶"
        for _ in range(3):
            click("Step")
        first = texts("aimarket-caption")
        assert first[0].startswith("2025-03: hhi_revenue ")
        assert first[-1] == "Firms, 2025-03"
        assert len(find(ipywidgets.Image)) == len(PLOTS)
        assert texts("aimarket-run") == [
            "replicate 0: labs 3, regime balanced, elasticity 2.35, GPU 2x (years) 2.07, "
            "startups/year 4.0"
        ]
        [labs] = find(v.Slider, label="labs")
        labs.v_model = 6
        click("Reset")
        assert texts("aimarket-run")[0].startswith("replicate 0: labs 6, regime balanced")
        assert texts("aimarket-caption")[0] == "no months yet: press Step or ▶"
        for _ in range(3):
            click("Step")
        again = texts("aimarket-caption")
        assert again[0].startswith("2025-03: hhi_revenue ")
        assert again[0] != first[0]
    finally:
        rc.close()


# -- the command ---------------------------------------------------------------------------


def _no_server(*call: Any) -> None:
    raise AssertionError(f"a server was started: {call}")


def test_explore_without_the_viz_extra_is_one_line_and_exit_2(
    config_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(explore.os, "execve", _no_server)
    real = explore.importlib.util.find_spec
    monkeypatch.setattr(
        explore.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "solara" else real(name, *a),
    )
    assert main(["explore", str(config_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("aimarket: error: ")
    assert "pip install 'aimarket[viz]'" in err


def test_explore_refuses_a_bad_config_and_a_busy_port(
    config_path: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(explore.os, "execve", _no_server)
    assert main(["explore", str(config_path), "--set", "model.labs=0"]) == 2
    assert "model.labs = 0" in capsys.readouterr().err
    assert main(["explore", str(tmp_path / "missing.toml")]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["explore", str(config_path), "--port", "70000"])
    assert exit_.value.code == 2
    capsys.readouterr()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["explore", str(config_path), "--port", str(port)]) == 2
    assert f"--port {port}: already in use" in capsys.readouterr().err


def test_explore_becomes_solaras_server_for_the_config(
    config_path: Path, monkeypatch, capsys
) -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr(explore.os, "execve", lambda *call: calls.append(call))
    port = _free_port()
    main(["explore", str(config_path), "--port", str(port), "--seed", "9", "--set", "model.labs=4"])
    assert (
        capsys.readouterr().out.strip()
        == f"aimarket explore: tiny-explore at http://127.0.0.1:{port}/"
    )
    [(exe, command, env)] = calls
    assert exe == sys.executable
    assert command[1:5] == ["-m", "solara", "run", "aimarket.experiments.explore_app"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == str(port)
    assert "--no-open" in command
    assert env[explore.CONFIG_VARIABLE] == str(config_path.resolve())
    overrides = json.loads(env[explore.OVERRIDES_VARIABLE])
    assert overrides == ["model.labs=4", "experiment.seed=9"]
    # ... which is what the app module serves.
    import aimarket.experiments.explore_app as app

    monkeypatch.setattr(app, "explore_page", lambda cfg: cfg)
    for name in (explore.CONFIG_VARIABLE, explore.OVERRIDES_VARIABLE):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setitem(app.__dict__, "Page", None)  # removed again after the test
    del app.__dict__["Page"]
    served = app.Page
    assert (served.experiment.seed, served.model.labs) == (9, 4)


def test_the_app_module_needs_the_command(monkeypatch) -> None:
    import aimarket.experiments.explore_app as app

    monkeypatch.delenv(explore.CONFIG_VARIABLE, raising=False)
    monkeypatch.setitem(app.__dict__, "Page", None)
    del app.__dict__["Page"]
    with pytest.raises(RuntimeError, match="start the page with `aimarket explore`"):
        _ = app.Page
    with pytest.raises(AttributeError):
        _ = app.Layout  # solara asks for optional names too


# -- in a browser ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    end = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except Exception:  # the page is still loading or re-rendering
            value = None
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.mark.slow
def test_explore_page_in_headless_chromium(config_path: Path, tmp_path: Path) -> None:
    require_browser("solara")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "aimarket", "explore", str(config_path), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    driver = None
    try:
        _wait("the server", lambda: urllib.request.urlopen(url, timeout=5).status == 200, 90)
        driver = headless_chrome(tmp_path / "profile", window="1400,1300")
        driver.get(url)

        def texts(css: str) -> list[str]:
            return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]

        def button(label: str) -> Any:
            for b in driver.find_elements(By.TAG_NAME, "button"):
                if b.text.strip().upper() == label:
                    return b
            return None

        def step_to(month: str) -> list[str]:
            for _ in range(3):
                before = texts(".aimarket-caption")
                _wait("Step", lambda: button("STEP")).click()
                _wait("a month", lambda b=before: texts(".aimarket-caption") != b)
            return _wait(
                month, lambda: (c := texts(".aimarket-caption"))[0].startswith(month) and c
            )

        _wait("the plots", lambda: len(texts(".aimarket-caption")) == len(PLOTS) + 1)
        assert texts(".aimarket-caption")[0] == "no months yet: press Step or ▶"
        first = step_to("2025-03")
        images = _wait(
            "rendered plots",
            lambda: (
                (
                    sizes := driver.execute_script(
                        "return Array.from(document.querySelectorAll('.aimarket-plot img'))"
                        ".map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
                    )
                )
                and len(sizes) == len(PLOTS)
                and all(c and w > 100 and h > 100 for c, w, h in sizes)
                and sizes
            ),
        )
        assert len(images) == len(PLOTS)
        assert "firm_id" in texts(".aimarket-firms")[0]
        [run] = texts(".aimarket-run")
        assert run.startswith("replicate 0: labs 3, ")

        # The labs slider, by keyboard as a user would, then Reset builds the new model.
        [labs] = [
            s
            for s in driver.find_elements(By.CSS_SELECTOR, ".v-input__slider")
            if s.find_element(By.TAG_NAME, "label").text == "labs"
        ]
        thumb = labs.find_element(By.CSS_SELECTOR, "[role=slider]")
        driver.execute_script("arguments[0].focus()", thumb)
        ActionChains(driver).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()
        _wait("labs 5", lambda: thumb.get_attribute("aria-valuenow") == "5")

        # Reset until the new run shows: the slider's value reaches the server over the
        # page's socket, and a busy server (rendering the last step's plots) may take the
        # click first, then rebuild the same run.
        def reset_to_labs_5() -> list[str] | None:
            shown = texts(".aimarket-run")
            if shown and "labs 5" in shown[0]:
                return shown
            button("RESET").click()
            time.sleep(2.0)
            return None

        rebuilt = _wait("the new run", reset_to_labs_5)
        # Only labs changed: the other inputs kept the config's values (no slider rounding).
        assert rebuilt == [run.replace("labs 3, ", "labs 5, ")]
        assert texts(".aimarket-caption")[0] == "no months yet: press Step or ▶"
        again = step_to("2025-03")
        assert again[0] != first[0]  # another market: the concentration plot changed
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        shot = tmp_path / "explore.png"
        assert driver.save_screenshot(str(shot))
        keep = os.environ.get("AIMARKET_SCREENSHOT_DIR")
        if keep:  # CI keeps the screenshots with its logs
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    assert server.returncode is not None
    served = (tmp_path / "server.log").read_text()
    assert served.startswith(f"aimarket explore: tiny-explore at {url}\n")
    assert "Warning" not in served  # solara's cookie and hook warnings are silenced
