"""Compare settings of the `analog` forecaster on the validation span of every shared load trace.

Origins lie in 60-80 % of each trace by time: the test split (the last 20 %, which
`foresight evaluate` and docs/forecasting.md score) is cut off before anything reads the series.
Each row is a trace; each column a candidate, as CRPS over persistence's (`naive`) on the same
origins, then the 90 % band's coverage and the lead-window p90 peak's coverage. The last row is
the geometric mean of the CRPS ratios. This is how the defaults of `foresight.forecasting.analog`
were chosen.

    .venv/bin/python hack/compare-analog-settings.py ../shared/datasets/load   # default vs previous grid
    .venv/bin/python hack/compare-analog-settings.py ../shared/datasets/load '{"sim.5": {"similarity": 0.5}}'
    .venv/bin/python hack/compare-analog-settings.py ../shared/datasets/load \
        '{"every moment": {"pool_size": 0}, "1,440 moments": {"pool_size": 1440}, "480 moments": {"pool_size": 480}}'
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from foresight import forecasting
from foresight.forecasting import _metrics, backtest, datasets
from foresight.forecasting.analog import Analog

TRACES = Path(__file__).with_name("forecast-traces")  # file|evaluate options, as hack/evaluate-forecasters
VALIDATION_END = 0.8  # the test split starts here
VALIDATION_FRACTION = 0.25  # of what is left: 60-80 % of the trace
# The settings before the current ones: no analogs at the phase of the series' cycle (the same
# smoothing levels, with or without time-of-day analogs).
PREVIOUS = {"settings": [[a, s] for a in (1.0, 0.3, 0.1, 0.03) for s in (0.0, 0.5)]}


def validation_backtest(
    path: Path, all_columns: bool, origins: int
) -> tuple[backtest.Backtest, int, tuple[int, int]]:
    columns = datasets.value_columns(pd.read_csv(path, nrows=2), "timestamp") if all_columns else None
    series = datasets.read_trace(path, time_column="timestamp", columns=columns)
    step = series[0].step_seconds
    peak_steps = backtest.lead_window_steps(step, 180, 600)  # start-up 3 min, window 10 min
    horizon = max(math.ceil(1800 / step), peak_steps[1] + 1)  # 30 min, as evaluate's default
    head = [s.head(int(len(s) * VALIDATION_END)) for s in series]
    return (
        backtest.prepare(head, horizon, max_origins=origins, test_fraction=VALIDATION_FRACTION),
        horizon,
        peak_steps,
    )


def main() -> None:
    data = Path(sys.argv[1])
    candidates = {"default": {}, "previous": PREVIOUS}
    if len(sys.argv) > 2:
        candidates.update(json.loads(sys.argv[2]))
    print("| trace | " + " | ".join(candidates) + " |")
    print("|---|" + "---:|" * len(candidates))
    ratios: dict[str, list[float]] = {name: [] for name in candidates}
    for line in TRACES.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        file, options = line.split("|")
        words = options.split()
        all_columns, origins = "--all-columns" in words, int(words[words.index("--origins") + 1])
        bt, horizon, peak_steps = validation_backtest(data / file, all_columns, origins)
        naive = _metrics.crps(backtest.sample(forecasting.get("naive"), bt.histories, horizon), bt.actual)
        cells = []
        for name, config in candidates.items():
            scores = backtest.score(backtest.sample(Analog(**config), bt.histories, horizon), bt, peak_steps)
            ratios[name].append(scores["crps"] / naive)
            band, peak = scores["coverage_90"], scores["peak"]["coverage"]["0.9"]
            cells.append(f"{scores['crps'] / naive:.3f} ({band:.0%}, {peak:.0%})")
        print(f"| `{Path(file).name.split('.')[0]}` | " + " | ".join(cells) + " |", flush=True)
    means = [f"**{math.exp(np.mean(np.log(r))):.3f}**" for r in ratios.values()]
    print("| geometric mean | " + " | ".join(means) + " |")


if __name__ == "__main__":
    main()
