"""`pip install foresight` without extras runs the operator: its import path never needs torch & co.

A subprocess hides the extras' packages (an import hook that refuses them), then imports the CLI and the
operator runtime and forecasts with the default model and with ``auto``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

EXTRAS_ONLY = ("torch", "gluonts", "fracast", "matplotlib", "lightning")

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, importlib.util, sys

    HIDDEN = {hidden!r}

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in HIDDEN else real(name, *a)

    import numpy as np, pandas as pd
    import foresight.cli  # every command registers
    from foresight.handlers import startup  # the operator: every handler and its runtime
    from foresight import forecasting

    s = forecasting.Series(10 + np.sin(np.arange(600) / 7), pd.Timestamp("2024-01-01", tz="UTC"), 60)
    for name in ("analog", "auto"):
        paths = forecasting.get(name).sample([s], horizon_steps=5, n_samples=8)
        assert np.isfinite(paths).all(), name
    try:
        forecasting.get("deepar")
    except forecasting.ModelUnavailable as exc:
        print("deepar:", exc)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN)
    print("loaded:", loaded)
    """
)


def test_the_operator_runs_without_the_extras() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(hidden=EXTRAS_ONLY)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded: []" in done.stdout
    assert "deepar: forecast model 'deepar' needs foresight[deepar]" in done.stdout
