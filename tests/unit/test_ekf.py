"""Science checks of the growth-rate filter, on the simulated bioreactor and a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pioleader.clock import ManualClock
from pioleader.unit.ekf import GrowthRateFilter
from pioleader.unit.hardware import SimulatedHardware
from tests.unit.conftest import at_optimum

CHANNELS = {"2": "90"}
STEP = timedelta(seconds=5)


def culture(clock: ManualClock, speedup: float = 4.0) -> SimulatedHardware:
    params = at_optimum(
        seed=3, lag_hours=0.01, growth_rate_per_hour=0.5, noise=0.01, speedup=speedup
    )
    hardware = SimulatedHardware(clock, params)
    hardware.set_ir_led(80.0)
    return hardware


def measure_blank(hardware: SimulatedHardware) -> float:
    od = hardware.snapshot().od
    hardware.load_vial(0.0)
    blank = sum(hardware.read_photodiodes(CHANNELS)["2"] for _ in range(20)) / 20
    hardware.load_vial(od, growing=True)
    return blank


def run(
    clock: ManualClock, hardware: SimulatedHardware, ekf: GrowthRateFilter, steps: int
) -> list[float]:
    rates = []
    for _ in range(steps):
        clock.advance(STEP)
        estimate = ekf.update(clock.now(), hardware.read_photodiodes(CHANNELS))
        if estimate is not None:
            rates.append(estimate.growth_rate)
    return rates


def test_growth_rate_matches_the_true_rate_in_exponential_phase() -> None:
    """Once converged, the EKF's rate should be within 10 % of the model's true rate."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = culture(clock)
    ekf = GrowthRateFilter(blanks={"2": measure_blank(hardware)})
    rates = run(clock, hardware, ekf, 300)  # 25 minutes of readings
    true_rate = hardware.snapshot().growth_rate_per_hour
    assert true_rate == pytest.approx(2.0, rel=0.05)  # 0.5 h⁻¹ × 4 speed-up
    assert rates[-1] == pytest.approx(true_rate, rel=0.10)
    assert all(abs(r - true_rate) < 0.1 * true_rate for r in rates[-100:])  # and stays there


def test_od_filtered_is_normalised_to_the_warm_up() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = culture(clock, speedup=0.001)  # nearly still
    ekf = GrowthRateFilter(blanks={"2": measure_blank(hardware)})
    run(clock, hardware, ekf, 40)
    clock.advance(STEP)
    estimate = ekf.update(clock.now(), hardware.read_photodiodes(CHANNELS))
    assert estimate is not None and estimate.od_filtered == pytest.approx(1.0, abs=0.02)


def test_an_outlier_barely_moves_the_growth_rate() -> None:
    """A reading at three times the OD should be flagged and shift the rate by < 2 %."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = culture(clock)
    ekf = GrowthRateFilter(outlier_threshold=5.0, blanks={"2": measure_blank(hardware)})
    before = run(clock, hardware, ekf, 300)[-1]
    clock.advance(STEP)
    spike = {ch: 3 * v for ch, v in hardware.read_photodiodes(CHANNELS).items()}
    estimate = ekf.update(clock.now(), spike)
    assert estimate is not None and estimate.outlier
    assert abs(estimate.growth_rate - before) < 0.02 * before
    after = run(clock, hardware, ekf, 20)[-1]
    assert after == pytest.approx(hardware.snapshot().growth_rate_per_hour, rel=0.10)


def test_a_dosing_event_during_warm_up_restarts_it() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = culture(clock)
    ekf = GrowthRateFilter(samples_for_od_statistics=5)
    run(clock, hardware, ekf, 4)
    ekf.dosing_event()
    assert run(clock, hardware, ekf, 4) == [] and not ekf.warmed_up
    assert len(run(clock, hardware, ekf, 2)) == 1


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="> 2"):
        GrowthRateFilter(outlier_threshold=1.5)
    with pytest.raises(ValueError, match="≥ 1"):
        GrowthRateFilter(samples_for_od_statistics=0)
    ekf = GrowthRateFilter(samples_for_od_statistics=1)
    ekf.update(datetime(2026, 1, 1, tzinfo=UTC), {"2": 0.01})
    with pytest.raises(ValueError, match="older"):
        ekf.update(datetime(2025, 1, 1, tzinfo=UTC), {"2": 0.01})


def test_a_blank_above_the_signal_restarts_the_warm_up() -> None:
    ekf = GrowthRateFilter(samples_for_od_statistics=2, blanks={"2": 1.0})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ekf.update(start, {"2": 0.5})
    with pytest.raises(ValueError, match="not positive"):
        ekf.update(start + STEP, {"2": 0.5})
    assert not ekf.warmed_up
    ekf.blanks = {}
    assert ekf.update(start + 2 * STEP, {"2": 0.5}) is None
    assert ekf.update(start + 3 * STEP, {"2": 0.5}) is None and ekf.warmed_up
