"""The growth-rate filter: an extended Kalman filter over log normalised OD (jobs-and-automations
§3.1), clock-free so that it can be driven by recorded or simulated readings.

State: log of the normalised OD, the growth rate (per hour) and the rate's drift (per hour²).
A warm-up of ``samples_for_od_statistics`` readings gives each channel its normalisation
factor (median; or the OD blank subtracted first) and its measurement noise (spread of the
log readings around a straight line). Channels are fused into one log measurement by inverse
variance. A reading whose innovation is more than ``outlier_threshold`` standard deviations out
is not rejected but trusted less (its variance scaled by the square of how far out it is).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

_PROCESS_NOISE = (1e-8, 5e-8, 5e-6)
_REFERENCE_DT_HOURS = 5 / 3600
_DRIFT_DECAY = 0.995
_RATE_LIMITS = (-1.0, 3.0)
_NOISE_FLOOR_STD = 5e-3
_AFTER_DOSING = (0.05, 1e-4)  # added to the log-OD and rate variances
_AFTER_DOSING_STEPS = 2
# The rate's prior spread. Upstream starts narrower (0.03); a wider prior lets the filter find
# a sped-up culture's rate within minutes instead of hours.
_RATE_PRIOR_STD = 0.5

Matrix = list[list[float]]


def robust_std(values: Sequence[float]) -> float:
    """1.4826 × the median absolute deviation: a standard deviation that ignores outliers."""
    centre = statistics.median(values)
    return 1.4826 * statistics.median(abs(v - centre) for v in values)


def _line_residual_std(times: Sequence[float], values: Sequence[float]) -> float:
    """Robust spread of ``values`` around their least-squares line against ``times``."""
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    spread_t = sum((t - mean_t) ** 2 for t in times)
    slope = (
        sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread_t
        if spread_t > 0
        else 0.0
    )
    residuals = [v - (mean_v + slope * (t - mean_t)) for t, v in zip(times, values, strict=True)]
    return robust_std(residuals)


@dataclass(frozen=True)
class Estimate:
    growth_rate: float  # per hour
    od_filtered: float  # normalised to the warm-up baseline (≈1 at start)
    outlier: bool


@dataclass
class GrowthRateFilter:
    samples_for_od_statistics: int = 10
    outlier_threshold: float = 5.0
    expected_dt_hours: float = _REFERENCE_DT_HOURS
    blanks: Mapping[str, float] = field(default_factory=dict)
    _warmup: list[tuple[datetime, dict[str, float]]] = field(default_factory=list)
    normalization: dict[str, float] = field(default_factory=dict)
    _noise: dict[str, float] = field(default_factory=dict)
    _x: list[float] = field(default_factory=list)
    _p: Matrix = field(default_factory=list)
    _last: datetime | None = None
    _dosed_steps: int = 0

    def __post_init__(self) -> None:
        if self.outlier_threshold <= 2:
            raise ValueError("ekf_outlier_std_threshold must be > 2")
        if self.samples_for_od_statistics < 1:
            raise ValueError("samples_for_od_statistics must be ≥ 1")

    @property
    def warmed_up(self) -> bool:
        return bool(self._x)

    def dosing_event(self) -> None:
        """Liquid was exchanged: restart the warm-up if in it, else expect a jump."""
        if not self.warmed_up:
            self._warmup.clear()
        else:
            self._dosed_steps = _AFTER_DOSING_STEPS

    def update(self, at: datetime, ods: Mapping[str, float]) -> Estimate | None:
        """Take one reading (channel → raw OD); return the estimate once warmed up."""
        readings = {ch: od - self.blanks.get(ch, 0.0) for ch, od in ods.items()}
        if not self.warmed_up:
            self._warmup.append((at, readings))
            if len(self._warmup) >= self.samples_for_od_statistics:
                self._start()
            return None
        assert self._last is not None
        dt = (at - self._last).total_seconds() / 3600
        if dt < 0:
            raise ValueError("a reading older than the previous one")
        self._last = at
        self._predict(dt)
        measured = self._fuse(readings)
        if measured is None:
            return self._estimate(False)
        log_od, variance = measured
        return self._correct(log_od, variance)

    # -- internals ----------------------------------------------------------------------------

    def _start(self) -> None:
        channels = list(self._warmup[0][1])
        t0 = self._warmup[0][0]
        times = [(at - t0).total_seconds() / 3600 for at, _ in self._warmup]
        factors = {ch: statistics.median(r[ch] for _, r in self._warmup) for ch in channels}
        if any(factor <= 0 for factor in factors.values()):
            self._warmup.clear()  # start over: perhaps the blank was taken with culture in it
            raise ValueError("OD is not positive after the blank is subtracted")
        self.normalization = factors
        for ch in channels:
            values = [r[ch] for _, r in self._warmup]
            factor = factors[ch]
            logs = [math.log(max(v / factor, 1e-9)) for v in values]
            residual = _line_residual_std(times, logs) if len(logs) > 2 else 0.0
            self._noise[ch] = max(residual, _NOISE_FLOOR_STD) ** 2
        fused = [
            statistics.fmean(r[ch] / self.normalization[ch] for ch in channels)
            for _, r in self._warmup[-5:]
        ]
        all_logs = [
            math.log(max(r[ch] / self.normalization[ch], 1e-9))
            for _, r in self._warmup
            for ch in channels
        ]
        mean_noise = statistics.fmean(self._noise.values())
        spread = max(0.05, 2 * robust_std(all_logs), math.sqrt(mean_noise))
        self._x = [math.log(statistics.median(fused)), 0.0, 0.0]
        self._p = [[spread**2, 0.0, 0.0], [0.0, _RATE_PRIOR_STD**2, 0.0], [0.0, 0.0, 0.05**2]]
        self._last = self._warmup[-1][0]

    def _predict(self, dt: float) -> None:
        log_od, rate, drift = self._x
        self._x = [
            log_od + rate * dt + 0.5 * drift * dt * dt,
            rate + drift * dt,
            drift * _DRIFT_DECAY,
        ]
        f = [[1.0, dt, 0.5 * dt * dt], [0.0, 1.0, dt], [0.0, 0.0, _DRIFT_DECAY]]
        p = _mul(_mul(f, self._p), _transpose(f))
        scale = max(dt / self.expected_dt_hours, 0.25) if self.expected_dt_hours > 0 else 1.0
        for i, q in enumerate(_PROCESS_NOISE):
            p[i][i] += q * scale
        if self._dosed_steps > 0:
            p[0][0] += _AFTER_DOSING[0]
            p[1][1] += _AFTER_DOSING[1]
            self._dosed_steps -= 1
        self._p = p

    def _fuse(self, readings: Mapping[str, float]) -> tuple[float, float] | None:
        """One log measurement from every usable channel, weighted by inverse variance."""
        weights = 0.0
        total = 0.0
        base = max(2e-5, 3 * statistics.fmean(self._noise.values()))
        for ch, od in readings.items():
            factor = self.normalization.get(ch)
            if factor is None or od <= 0:
                continue
            variance = max(self._noise[ch], base)
            weights += 1 / variance
            total += math.log(od / factor) / variance
        if weights == 0:
            return None
        return total / weights, 1 / weights

    def _correct(self, log_od: float, variance: float) -> Estimate:
        innovation = log_od - self._x[0]
        spread = self._p[0][0] + variance
        z = abs(innovation) / math.sqrt(spread)
        outlier = z > self.outlier_threshold
        if outlier:
            variance *= (z / self.outlier_threshold) ** 2
            spread = self._p[0][0] + variance
        gain = [self._p[i][0] / spread for i in range(3)]
        self._x = [self._x[i] + gain[i] * innovation for i in range(3)]
        self._p = [[self._p[i][j] - gain[i] * self._p[0][j] for j in range(3)] for i in range(3)]
        low, high = _RATE_LIMITS
        self._x[1] = min(max(self._x[1], low), high)
        return self._estimate(outlier)

    def _estimate(self, outlier: bool) -> Estimate:
        return Estimate(growth_rate=self._x[1], od_filtered=math.exp(self._x[0]), outlier=outlier)


def _mul(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _transpose(a: Matrix) -> Matrix:
    return [list(row) for row in zip(*a, strict=True)]
