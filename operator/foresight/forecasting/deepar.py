"""DeepAR: a small global autoregressive LSTM (gluonts' torch ``DeepARModel``) that samples paths.

One model serves every series and step size. Choices, and why:

* **Frequency: native step down to one minute, step as a feature.** A 1-minute or 5-minute
  history is forecast at its own step; ``log(step / 1 min)`` is a static input and seasonal
  inputs come from real timestamps, so one model covers every step seen in training (10 s to
  5 min) and those between. Sub-minute series (10 s, 30 s scrapes) are averaged to 5-minute
  blocks aligned to the decision time, forecast there, and expanded back with resampled
  within-block deviations: 30 minutes ahead is 6 autoregressive steps instead of 180, where
  errors compound (measured: CRPS 0.107 on 1-minute blocks, 0.092 on 5-minute blocks, on
  the 10 s Alibaba test split). The shared short-history rule applies to the blocks: a
  sub-minute history of fewer than three observed blocks gets short-history paths.
* **Inputs per step:** lags ``1..24`` steps of the target, minute-of-day and day-of-week as
  sin/cos, and seasonal anchors: the level (mean over +-15 min) one day earlier, the mean of
  that level over the last 7 days, and one week earlier, each with an availability input
  that is zero when the history is shorter, so a cold series with only hours of history still
  works and a long one gets its own daily profile.
* **Per-series mean scaling** over the observed part of the last ``context_length`` steps
  (gluonts' own scaler is off), applied to lags and seasonal inputs alike.
* **Hot path in plain torch.** Loading and sampling never import gluonts: the weights live in
  a small ``torch.nn`` network with gluonts' state-dict layout (training uses gluonts'
  ``DeepARModel`` and its loss). ``sample`` builds inputs with numpy, unrolls the context once
  per series, then runs its own loop over the horizon on ``[series x samples]`` rows, with the
  time/season part of the input projection computed once per series rather than per sample.
  A unit test checks this loop against gluonts' teacher-forced unroll. A seeded
  ``torch.Generator`` makes results independent of global random state.
* **Guards:** every draw is clamped to ``[0, 10 x the window's largest reading]`` (non-negative
  series) before it is fed back, and the Student-t head has at least ``min_df`` degrees of
  freedom; both stop single extreme draws from derailing whole paths.
* Gaps are linearly interpolated for the inputs and masked out of the loss and the scale.
* **Signed series** (``nonnegative=False``) that dip below zero are forecast shifted up by
  their lowest reading and shifted back: the model only ever saw non-negative load, and fed
  a series around -50 it forecast +27.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from foresight.config import DEEPAR_ARTIFACT, REPO_MODELS_DIR, Settings
from foresight.forecasting import artifacts
from foresight.forecasting._protocol import BaseForecaster, short_history_paths
from foresight.forecasting._residuals import DAY_SECONDS
from foresight.forecasting._series import Series, interpolate_gaps

__all__ = ["DEFAULT_ARTIFACT", "DeepAR", "DeepARConfig"]

# models/deepar-v1 at the repository root (the package is installed from operator/).
# The artifact shipped in the repository (the image's is wherever Settings.model_dir says).
DEFAULT_ARTIFACT = REPO_MODELS_DIR / DEEPAR_ARTIFACT
# sin/cos minute-of-day, sin/cos day-of-week, then (value, availability) for: one day ago,
# the mean of the same time of day over the last 7 days, one week ago. Seasonal values are
# averaged over +-15 minutes so a noisy single reading (request counts) does not dominate.
N_DYNAMIC = 10
SMOOTH_SECONDS = 900
PROFILE_DAYS = 7
ROWS_PER_CHUNK = 16_384  # [series x samples] rows per horizon loop: keeps gates in cache
# Each draw is kept within [0 (non-negative series), PATH_BOUND x the largest reading of the
# window] before it is fed back: the Student-t head learns very heavy tails (about 2 degrees
# of freedom) to cover spikes, and one extreme draw would otherwise derail the rest of a path.
PATH_BOUND = 10.0
# Series sampled faster than once a minute are forecast on 5-minute block means and expanded
# back with resampled within-block deviations: a 30-minute horizon is 6 autoregressive steps
# (not 180 at 10 s, where errors compound). Measured on the Alibaba 10 s / 30 s test splits:
# CRPS 0.107 / 0.105 on 1-minute blocks, 0.092 / 0.090 on 5-minute blocks (an earlier model at
# the native step: 0.163 / 0.159); 1-minute series (NASA) are best at their own step (0.231
# vs 0.246 on 5-minute blocks), so only sub-minute series are aggregated.
SUB_MINUTE_SECONDS = 60
SUB_MINUTE_MODEL_STEP_SECONDS = 300
BLOCK_RESIDUAL_STEPS = 4_096


@dataclasses.dataclass
class DeepARConfig:
    """Architecture and training budget (everything ``save`` needs to rebuild the model)."""

    context_length: int = 96
    lags_seq: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 12, 24)
    hidden_size: int = 32
    num_layers: int = 1
    dropout_rate: float = 0.0  # one layer: LSTM dropout would not apply (and slows torch down)
    train_prediction_length: int = 24
    batch_size: int = 128
    max_steps: int = 4_000
    learning_rate: float = 3e-3
    cold_start_fraction: float = 0.3  # share of training windows cut to a short history
    # Student-t degrees of freedom are min_df + softplus(.); gluonts uses 2, which lets the model
    # buy spike coverage with near-infinite variance and over-disperse long sample paths.
    min_df: float = 2.0
    seed: int = 0

    @property
    def past_length(self) -> int:
        return self.context_length + max(self.lags_seq)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lags_seq"] = list(self.lags_seq)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeepARConfig:
        d = dict(d)
        d["lags_seq"] = tuple(d["lags_seq"])
        return cls(**d)


def _build_module(cfg: DeepARConfig) -> Any:  # gluonts DeepARModel (imported lazily)
    from gluonts.torch.distributions import StudentTOutput
    from gluonts.torch.model.deepar.module import DeepARModel

    extra_df = cfg.min_df - 2.0

    class _StudentTOutput(StudentTOutput):
        @classmethod
        def domain_map(cls, df, loc, scale):
            df, loc, scale = super().domain_map(df, loc, scale)
            return df + extra_df, loc, scale

    return DeepARModel(
        freq="1min",  # unused: lags_seq is explicit
        context_length=cfg.context_length,
        prediction_length=cfg.train_prediction_length,
        num_feat_dynamic_real=N_DYNAMIC,
        num_feat_static_real=1,
        num_feat_static_cat=1,
        cardinality=[1],
        embedding_dimension=[1],
        num_layers=cfg.num_layers,
        hidden_size=cfg.hidden_size,
        dropout_rate=cfg.dropout_rate,
        distr_output=_StudentTOutput(),
        lags_seq=list(cfg.lags_seq),
        scaling=False,  # we scale ourselves so day/week features share the target's scale
    )


# -- features ---------------------------------------------------------------------------------


def time_features(unix_seconds: np.ndarray) -> np.ndarray:
    """``[..., 4]``: sin/cos of minute-of-day and of day-of-week (Monday = 0), in UTC.

    >>> [abs(round(float(x), 3)) for x in time_features(np.array([0, 21_600]))[1, :2]]  # 06:00 UTC
    [1.0, 0.0]
    """
    t = unix_seconds.astype(np.float64)
    day_phase = 2 * np.pi * (t % DAY_SECONDS) / DAY_SECONDS
    # 1970-01-01 was a Thursday: +3 days makes Monday 00:00 phase zero.
    week_phase = 2 * np.pi * ((t / DAY_SECONDS + 3.0) % 7.0) / 7.0
    return np.stack([np.sin(day_phase), np.cos(day_phase), np.sin(week_phase), np.cos(week_phase)], axis=-1)


@dataclasses.dataclass
class _Window:
    """Numpy inputs for a batch, already scaled; future arrays cover ``horizon`` steps."""

    past_target: np.ndarray  # [B, past_length]
    past_observed: np.ndarray  # [B, past_length]
    past_features: np.ndarray  # [B, past_length, N_DYNAMIC]
    future_features: np.ndarray  # [B, horizon, N_DYNAMIC]
    static_real: np.ndarray  # [B, 1]
    scale: np.ndarray  # [B]
    lower: np.ndarray | None = None  # [B] bounds on scaled draws (inference only)
    upper: np.ndarray | None = None
    future_target: np.ndarray | None = None  # [B, horizon] (training only)
    future_observed: np.ndarray | None = None


def _scale_of(values: np.ndarray, observed: np.ndarray, context_length: int) -> float:
    ctx_v, ctx_o = values[-context_length:], observed[-context_length:]
    for v, o in ((ctx_v, ctx_o), (values, observed)):
        if o.any():
            s = float(np.abs(v[o]).mean())
            if s > 0:
                return s
    return 1.0


def _window_inputs(
    filled: np.ndarray,
    csum: np.ndarray,
    observed: np.ndarray,
    first_available: int,
    end: int,
    horizon: int,
    step_seconds: int,
    t0: int,
    cfg: DeepARConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Inputs for a forecast made at index ``end`` (exclusive) of one series.

    Only indices in ``[first_available, end)`` are treated as history; anything earlier is
    padding (zero, unobserved) and any later index is never read (seasonal averages are cut
    at ``end`` too), which is what makes the model leak-free: the future enters only through
    timestamps. ``csum`` is ``cumsum(filled)`` with a leading zero.
    """
    past_len = cfg.past_length
    idx = np.arange(end - past_len, end + horizon)
    in_hist = (idx >= first_available) & (idx < end)
    safe = np.clip(idx, 0, max(end - 1, 0))
    values = np.where(in_hist, filled[safe], 0.0)
    obs = in_hist & observed[safe]
    scale = _scale_of(values[:past_len], obs[:past_len], cfg.context_length)

    feats = np.zeros((idx.size, N_DYNAMIC))
    feats[:, :4] = time_features(t0 + idx * step_seconds)
    day = max(1, round(DAY_SECONDS / step_seconds))
    half = max(0, round(SMOOTH_SECONDS / step_seconds))

    # Row k - 1: the +-15 min mean of the readings k days before each step (k = 1..7).
    src = idx[None, :] - day * np.arange(1, PROFILE_DAYS + 1)[:, None]
    lo = np.clip(src - half, first_available, end)
    hi = np.clip(src + half + 1, first_available, end)
    ok = (src >= first_available) & (src < end)
    means = np.where(ok, (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1), 0.0) / scale
    count = ok.sum(axis=0)
    feats[:, 4], feats[:, 5] = means[0], ok[0]
    feats[:, 6] = means.sum(axis=0) / np.maximum(count, 1)
    feats[:, 7] = count / PROFILE_DAYS
    feats[:, 8], feats[:, 9] = means[PROFILE_DAYS - 1], ok[PROFILE_DAYS - 1]
    return values[:past_len] / scale, obs[:past_len], feats, scale


def _prepare(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    filled, observed = interpolate_gaps(values)
    return filled, np.concatenate(([0.0], np.cumsum(filled))), observed


def _static_real(step_seconds: int) -> float:
    return math.log(step_seconds / 60.0) / 3.0


# -- plain-torch network --------------------------------------------------------------------------


class _Embedder(torch.nn.Module):
    """gluonts ``FeatureEmbedder`` with one single-category feature (state key ``_embedders.0``)."""

    def __init__(self) -> None:
        super().__init__()
        self._embedders = torch.nn.ModuleList([torch.nn.Embedding(1, 1)])

    def category_weight(self) -> torch.Tensor:
        embedding = self._embedders[0]
        assert isinstance(embedding, torch.nn.Embedding)
        return embedding.weight


class _ArgProj(torch.nn.Module):
    """gluonts ``PtArgProj`` for Student-t: projections to df, loc, scale (state key ``proj.i``)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.proj = torch.nn.ModuleList([torch.nn.Linear(hidden_size, 1) for _ in range(3)])

    def linears(self) -> list[torch.nn.Linear]:
        return [p for p in self.proj if isinstance(p, torch.nn.Linear)]


class _Network(torch.nn.Module):
    """The inference half of gluonts' ``DeepARModel`` in plain torch, with the same state-dict keys.

    Loading an artifact and sampling never imports gluonts (its import alone costs seconds and
    ~100 MB); training uses the gluonts module and copies its weights here. The input layout
    is gluonts': ``[lags, embedding, static reals, log(scale) = 0, dynamic features]``.
    """

    def __init__(self, cfg: DeepARConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n_in = len(cfg.lags_seq) + 1 + 1 + 1 + N_DYNAMIC
        self.rnn = torch.nn.LSTM(
            n_in, cfg.hidden_size, cfg.num_layers, batch_first=True, dropout=cfg.dropout_rate
        )
        self.embedder = _Embedder()
        self.param_proj = _ArgProj(cfg.hidden_size)

    def distribution_args(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """gluonts ``StudentTOutput.domain_map`` of the projections of ``x``."""
        df, loc, scale = (p(x).squeeze(-1) for p in self.param_proj.linears())
        eps = torch.finfo(scale.dtype).eps
        df = self.cfg.min_df + torch.nn.functional.softplus(df)
        return df, loc, torch.nn.functional.softplus(scale).clamp_min(eps)

    def unroll(
        self, w: _Window
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the LSTM over the context: args for future step 0, static features, state."""
        cfg = self.cfg
        b = w.past_target.shape[0]
        ctx = cfg.context_length
        past = torch.as_tensor(w.past_target, dtype=torch.float32)
        lag_cols = [past[:, past.shape[1] - ctx + 1 - lag : past.shape[1] + 1 - lag] for lag in cfg.lags_seq]
        lags = torch.stack(lag_cols, dim=-1)  # [B, ctx, n_lags]; position j predicts step j + 1
        time_feat = torch.cat(
            (
                torch.as_tensor(w.past_features[:, -(ctx - 1) :], dtype=torch.float32),
                torch.as_tensor(w.future_features[:, :1], dtype=torch.float32),
            ),
            dim=1,
        )
        static = torch.cat(
            (
                self.embedder.category_weight().expand(b, 1),
                torch.as_tensor(w.static_real, dtype=torch.float32),
                torch.zeros(b, 1),  # log(scale): gluonts' scaler is off, we scale outside
            ),
            dim=-1,
        )
        x = torch.cat((lags, static[:, None, :].expand(-1, ctx, -1), time_feat), dim=-1)
        out, state = self.rnn(x)
        return self.distribution_args(out[:, -1]), static, state


# -- the forecaster -----------------------------------------------------------------------------


class DeepAR(BaseForecaster):
    """Global DeepAR; ``forecasting.get("deepar")`` loads the shipped ``models/deepar-v1``.

    ``fit(series)`` trains from scratch on random windows of the given series (all of each
    series: the caller holds out its test tail), seeded by ``config.seed``.
    """

    name: ClassVar[str] = "deepar"

    def __init__(self, config: DeepARConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        cfg = DeepARConfig.from_json(config) if isinstance(config, dict) else (config or DeepARConfig())
        self.cfg = dataclasses.replace(cfg, **overrides)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.cfg.seed)  # reproducible initial weights, global RNG untouched
            self.network = _Network(self.cfg)
        self.network.eval()
        self.trained = False
        self.training_info: dict[str, Any] = {}

    @classmethod
    def pretrained_or_new(cls, **kwargs: Any) -> DeepAR:
        """The registry's factory: without arguments, the artifact the settings name
        (``FORESIGHT_DEEPAR_ARTIFACT``, else ``<FORESIGHT_MODEL_DIR>/deepar-v1``) if it is there."""
        path = Settings().deepar_artifact_dir()
        if not kwargs and (path / "forecaster.json").exists():
            model = artifacts.load(path)
            assert isinstance(model, DeepAR)
            return model
        return cls(**kwargs)

    def config(self) -> dict[str, Any]:
        return {"config": self.cfg.to_json()}

    def _save_files(self, directory: pathlib.Path) -> None:
        torch.save(self.network.state_dict(), directory / "model.pt")
        if self.training_info:
            (directory / "training.json").write_text(json.dumps(self.training_info, indent=2) + "\n")

    @classmethod
    def from_artifact(cls, directory: pathlib.Path, config: dict[str, Any]) -> DeepAR:
        model = cls(config["config"])
        state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
        model.network.load_state_dict(state)
        model.trained = True
        info = directory / "training.json"
        if info.exists():
            model.training_info = json.loads(info.read_text())
        return model

    # -- inference ----------------------------------------------------------------------------
    def _batch(self, series: Sequence[Series], horizon: int) -> _Window:
        cfg = self.cfg
        rows = []
        for s in series:
            # Only the last week (+ a margin) feeds any input: no O(history) work beyond that.
            values = s.clean()[-(self._history_needed(s.step_seconds)) :]
            filled, csum, observed = _prepare(values)
            t0 = s.start_seconds + (len(s) - len(values)) * s.step_seconds
            rows.append(
                _window_inputs(filled, csum, observed, 0, len(filled), horizon, s.step_seconds, t0, cfg)
            )
        past_len = cfg.past_length
        feats = np.stack([r[2] for r in rows])
        return _Window(
            past_target=np.stack([r[0] for r in rows]),
            past_observed=np.stack([r[1] for r in rows]).astype(np.float64),
            past_features=feats[:, :past_len],
            future_features=feats[:, past_len:],
            static_real=np.array([[_static_real(s.step_seconds)] for s in series]),
            scale=np.array([r[3] for r in rows]),
            lower=np.array([0.0 if s.nonnegative else -np.inf for s in series]),
            upper=PATH_BOUND * np.maximum(1.0, np.abs(np.stack([r[0] for r in rows])).max(axis=1)),
        )

    def _sample_batch(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        if not self.trained:
            raise RuntimeError("DeepAR is not trained: call fit() or load an artifact (foresight train)")
        offsets = np.array([_signed_offset(s) for s in series])
        series = [
            dataclasses.replace(s, values=s.values - o) if o else s
            for s, o in zip(series, offsets, strict=True)
        ]
        out = np.empty((len(series), n_samples, horizon_steps))
        # One network call per model step present in the batch (usually exactly one).
        groups: dict[int, list[int]] = {}
        for i, s in enumerate(series):
            factor = 1
            if s.step_seconds < SUB_MINUTE_SECONDS:
                factor = max(1, round(SUB_MINUTE_MODEL_STEP_SECONDS / s.step_seconds))
            groups.setdefault(factor, []).append(i)
        rng = np.random.default_rng(seed)
        for factor, members in sorted(groups.items()):
            batch = [series[i] for i in members]
            if factor == 1:
                out[members] = self._sample_native(batch, horizon_steps, n_samples, seed)
                continue
            coarse = [_block_means(s, factor) for s in batch]
            # The shared short-history rule applies at the model's step: fewer than
            # `min_observed` blocks (minutes of history) get short-history paths.
            rows = []
            for row, c in enumerate(coarse):
                if c.observed_count >= self.min_observed:
                    rows.append(row)
                else:
                    out[members[row]] = short_history_paths(batch[row], horizon_steps, n_samples, rng)
            if not rows:
                continue
            coarse_h = -(-horizon_steps // factor)
            paths = self._sample_native([coarse[row] for row in rows], coarse_h, n_samples, seed)
            fine = np.repeat(paths, factor, axis=2)[:, :, :horizon_steps]
            for k, row in enumerate(rows):
                fine[k] += _bootstrap_within_block(batch[row], factor, (n_samples, horizon_steps), rng)
            out[[members[row] for row in rows]] = fine
        return out + offsets[:, None, None]

    def _sample_native(
        self, series: list[Series], horizon_steps: int, n_samples: int, seed: int
    ) -> np.ndarray:
        window = self._batch(series, horizon_steps)
        generator = torch.Generator().manual_seed(seed)
        with torch.inference_mode():
            scaled = self._sample_scaled(window, horizon_steps, n_samples, generator)
        return scaled.numpy().astype(np.float64) * window.scale[:, None, None]

    def _history_needed(self, step_seconds: int) -> int:
        day = max(1, round(DAY_SECONDS / step_seconds))
        half = max(0, round(SMOOTH_SECONDS / step_seconds))
        return max(self.cfg.past_length, PROFILE_DAYS * day + self.cfg.past_length + half + 1)

    def _sample_scaled(
        self, w: _Window, horizon: int, n_samples: int, generator: torch.Generator
    ) -> torch.Tensor:
        """Ancestral sampling ``[B, S, H]`` in scaled units (see the module docstring)."""
        m = self.network
        cfg = self.cfg
        b = w.past_target.shape[0]
        params, static_feat, (h0, c0) = m.unroll(w)
        n_lags = len(cfg.lags_seq)
        max_lag = max(cfg.lags_seq)
        lag_idx = torch.tensor([max_lag - lag for lag in cfg.lags_seq])  # positions in the buffer
        layers = cfg.num_layers
        hidden = cfg.hidden_size
        # tanh(g) = 2 * sigmoid(2g) - 1: doubling the cell-input rows lets one sigmoid call cover
        # all four gates (fewer passes over [rows, 4 * hidden], which bound the cost here).
        gate_scale = torch.ones(4 * hidden, 1)
        gate_scale[2 * hidden : 3 * hidden] = 2.0
        w_ih = [getattr(m.rnn, f"weight_ih_l{k}") * gate_scale for k in range(layers)]
        w_hh = [(getattr(m.rnn, f"weight_hh_l{k}") * gate_scale).T.contiguous() for k in range(layers)]
        bias = [
            (getattr(m.rnn, f"bias_ih_l{k}") + getattr(m.rnn, f"bias_hh_l{k}")) * gate_scale[:, 0]
            for k in range(layers)
        ]
        w_ih_t = [w.T.contiguous() for w in w_ih]
        proj_w = torch.cat([p.weight for p in m.param_proj.linears()]).T.contiguous()  # [hidden, 3]
        proj_b = torch.cat([p.bias for p in m.param_proj.linears()])
        # Layer-0 input projection of everything that does not depend on the sample:
        # static features and time/season features per series and future step.
        future = torch.as_tensor(w.future_features, dtype=torch.float32)  # [B, H, F]
        feats = torch.cat((static_feat[:, None, :].expand(-1, horizon, -1), future), dim=-1)
        feat_gates = feats @ w_ih[0][:, n_lags:].T + bias[0]  # [B, H, 4*hidden]
        w_lag = w_ih[0][:, :n_lags].T.contiguous()
        first = list(params)  # distribution args for future step 0: [B] each
        past = torch.as_tensor(w.past_target[:, -max_lag:], dtype=torch.float32)  # [B, max_lag]
        upper = torch.as_tensor(w.upper, dtype=torch.float32)
        lower = torch.maximum(torch.as_tensor(w.lower, dtype=torch.float32), -upper)

        out = torch.empty(b, n_samples, horizon)
        per_chunk = max(1, ROWS_PER_CHUNK // n_samples)

        def run_chunk(lo: int) -> None:
            hi = min(b, lo + per_chunk)
            n = hi - lo
            rows = n * n_samples
            # One generator per chunk, seeded from the call's generator in chunk order: the draws do
            # not depend on which worker runs which chunk.
            gen = generators[lo // per_chunk]

            def rep(x: torch.Tensor) -> torch.Tensor:
                return x[lo:hi].repeat_interleave(n_samples, dim=0)

            hs = [rep(h0[k]) for k in range(layers)]
            cs = [rep(c0[k]) for k in range(layers)]
            buf = torch.cat((rep(past), torch.empty(rows, horizon)), dim=1)
            df, loc, sc = (rep(p) for p in first)
            lo_rows, hi_rows = rep(lower), rep(upper)
            fg = feat_gates[lo:hi]
            for k in range(horizon):
                y = torch.clamp(_student_t(df, loc, sc, gen), lo_rows, hi_rows)
                buf[:, max_lag + k] = y
                if k == horizon - 1:
                    break
                lags = buf[:, lag_idx + k + 1]
                x = lags  # the input of layers above the first is the layer below
                for layer in range(layers):
                    if layer == 0:
                        gates = (lags @ w_lag).view(n, n_samples, -1) + fg[:, k + 1, None, :]
                        gates = gates.view(rows, -1)
                    else:
                        gates = torch.addmm(bias[layer], x, w_ih_t[layer])
                    gates = gates.addmm_(hs[layer], w_hh[layer]).sigmoid_()
                    i, f, g, o = gates.chunk(4, dim=1)
                    cs[layer] = torch.addcmul(f * cs[layer], i, g.mul(2.0).sub_(1.0))
                    hs[layer] = o * torch.tanh(cs[layer])
                    x = hs[layer]
                raw = torch.addmm(proj_b, x, proj_w)
                df = cfg.min_df + torch.nn.functional.softplus(raw[:, 0])
                loc = raw[:, 1]
                sc = torch.nn.functional.softplus(raw[:, 2]).clamp_min(torch.finfo(raw.dtype).eps)
            out[lo:hi] = buf[:, max_lag:].view(n, n_samples, horizon)

        def in_inference_mode(lo: int) -> None:
            with torch.inference_mode():  # thread-local: each worker enters it itself
                run_chunk(lo)

        starts = list(range(0, b, per_chunk))
        seeds = torch.randint(0, 2**62, (len(starts),), generator=generator).tolist()
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        workers = min(len(starts), torch.get_num_threads())
        if workers <= 1:
            for lo in starts:
                run_chunk(lo)
            return out
        # Chunks run side by side on single-threaded ops: the tensors of one step are too small for
        # torch's intra-op threads to pay off (measured: same wall time, ~40 % more CPU).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="deepar") as pool:
                list(pool.map(in_inference_mode, starts))
        finally:
            torch.set_num_threads(threads)
        return out

    # -- training -----------------------------------------------------------------------------
    def fit(
        self,
        series: Sequence[Series],
        weights: Sequence[float] | None = None,
        progress: Callable[[int, float], None] | None = None,
    ) -> DeepAR:
        """Train from scratch on random windows of ``series`` (``weights``: sampling shares)."""
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            # gluonts' own deprecation/perf notices (json module, tensor indexing): not ours to act on.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"gluonts\.")
            return self._fit(series, weights, progress)

    def _fit(
        self,
        series: Sequence[Series],
        weights: Sequence[float] | None,
        progress: Callable[[int, float], None] | None,
    ) -> DeepAR:
        cfg = self.cfg
        rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        shares = np.ones(len(series)) if weights is None else np.asarray(weights, dtype=float)
        prepared, kept = [], []
        for share, s in zip(shares, series, strict=True):
            filled, csum, observed = _prepare(s.clean())
            if observed.sum() >= 2 * cfg.train_prediction_length:
                prepared.append((filled, csum, observed, s))
                kept.append(share)
        if not prepared:
            raise ValueError("no series long enough to train on")
        probs = np.asarray(kept)
        probs = probs / probs.sum()
        module = _build_module(cfg)
        module.load_state_dict(self.network.state_dict())
        module.train()
        optimizer = torch.optim.Adam(module.parameters(), lr=cfg.learning_rate)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.learning_rate, total_steps=cfg.max_steps, pct_start=0.1
        )
        started = time.perf_counter()
        losses = []
        for step in range(cfg.max_steps):
            w = self._training_batch(prepared, probs, rng)
            loss = module.loss(
                feat_static_cat=torch.zeros(w.past_target.shape[0], 1, dtype=torch.long),
                feat_static_real=torch.as_tensor(w.static_real, dtype=torch.float32),
                past_time_feat=torch.as_tensor(w.past_features, dtype=torch.float32),
                past_target=torch.as_tensor(w.past_target, dtype=torch.float32),
                past_observed_values=torch.as_tensor(w.past_observed, dtype=torch.float32),
                future_time_feat=torch.as_tensor(w.future_features, dtype=torch.float32),
                future_target=torch.as_tensor(w.future_target, dtype=torch.float32),
                future_observed_values=torch.as_tensor(w.future_observed, dtype=torch.float32),
            ).mean()
            optimizer.zero_grad()
            loss.backward()
            # Spiky traces (NASA) give rare huge gradients; clipping keeps training stable.
            torch.nn.utils.clip_grad_norm_(module.parameters(), 10.0)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            if progress is not None:
                progress(step, losses[-1])
        module.eval()
        self.network.load_state_dict(module.state_dict())
        self.trained = True
        self.training_info = {
            "steps": cfg.max_steps,
            "seconds": round(time.perf_counter() - started, 1),
            "final_loss_mean_last_100": float(np.mean(losses[-100:])),
            "series": len(prepared),
        }
        return self

    def _training_batch(
        self,
        prepared: list[tuple[np.ndarray, np.ndarray, np.ndarray, Series]],
        probs: np.ndarray,
        rng: np.random.Generator,
    ) -> _Window:
        cfg = self.cfg
        p_len = cfg.train_prediction_length
        picks = rng.choice(len(prepared), size=cfg.batch_size, p=probs)
        rows = []
        for j in picks:
            filled, csum, observed, s = prepared[j]
            n = len(filled)
            # Forecast origin: leave room for the prediction window; at least a few past points.
            end = int(rng.integers(min(8, n - p_len), n - p_len + 1))
            first = 0
            if rng.random() < cfg.cold_start_fraction:
                # Cold start: pretend the series only began a few steps before the origin.
                first = max(0, end - int(rng.integers(8, cfg.past_length + 1)))
            t0 = s.start_seconds
            past, obs, feats, scale = _window_inputs(
                filled, csum, observed, first, end, p_len, s.step_seconds, t0, cfg
            )
            fut = filled[end : end + p_len] / scale
            fut_obs = observed[end : end + p_len]
            rows.append((past, obs, feats, scale, fut, fut_obs, _static_real(s.step_seconds)))
        past_len = cfg.past_length
        feats = np.stack([r[2] for r in rows])
        return _Window(
            past_target=np.stack([r[0] for r in rows]),
            past_observed=np.stack([r[1] for r in rows]).astype(np.float64),
            past_features=feats[:, :past_len],
            future_features=feats[:, past_len:],
            static_real=np.array([[r[6]] for r in rows]),
            scale=np.array([r[3] for r in rows]),
            future_target=np.stack([r[4] for r in rows]),
            future_observed=np.stack([r[5] for r in rows]).astype(np.float64),
        )


def _signed_offset(series: Series) -> float:
    """The lowest reading of a signed series when it is below zero, else 0 (see the module docstring)."""
    if series.nonnegative:
        return 0.0
    values = series.clean()
    observed = values[np.isfinite(values)]
    return float(min(observed.min(), 0.0)) if observed.size else 0.0


def _block_means(series: Series, factor: int) -> Series:
    """Means of ``factor``-step blocks aligned to the end of the history (the decision time).

    The oldest block may be partial: it holds the readings that do not fill a whole block, so
    every reading counts and a history shorter than one block still gives one block (dropping
    them left a 3-reading 15 s history with no block at all, and DeepAR indexed an empty array).

    >>> s = Series(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), pd.Timestamp("2024-01-01", tz="UTC"), 15)
    >>> coarse = _block_means(s, 4)
    >>> coarse.values.tolist(), coarse.step_seconds, coarse.end == s.end
    ([1.0, 3.5], 60, True)
    """
    values = series.clean()
    pad = -len(values) % factor
    blocks = np.concatenate((np.full(pad, np.nan), values)).reshape(-1, factor)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay gaps
        means = np.nanmean(blocks, axis=1)
    start = series.start - pd.Timedelta(seconds=pad * series.step_seconds)
    return dataclasses.replace(series, values=means, start=start, step_seconds=series.step_seconds * factor)


def _bootstrap_within_block(
    series: Series, factor: int, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Deviations of fine readings from their block mean, resampled: the sub-minute wiggle."""
    values = series.clean()[-BLOCK_RESIDUAL_STEPS:]
    usable = (len(values) // factor) * factor
    blocks = values[len(values) - usable :].reshape(-1, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        deviations = (blocks - np.nanmean(blocks, axis=1, keepdims=True)).reshape(-1)
    pool = deviations[np.isfinite(deviations)]
    if pool.size == 0:
        return np.zeros(size)
    return pool[rng.integers(0, pool.size, size=size)]


def _student_t(
    df: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Student-t draws with an explicit generator: ``loc + scale * z * sqrt(df / (2 * G))``.

    ``G ~ Gamma(df / 2, 1)``, so ``2G/df`` is the chi-square over its degrees of freedom.
    """
    z = torch.randn(loc.shape, generator=generator)
    gamma = torch._standard_gamma(df * 0.5, generator=generator)
    return loc + scale * z * torch.sqrt(df / (2.0 * gamma).clamp_min(1e-12))
