"""Science checks: the control logic the automation jobs run, in closed loop with the simulated
bioreactor and the growth-rate filter, on a manual clock (hours of culture in a second)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pioleader.clock import ManualClock
from pioleader.unit.control import PID, subdoses, thermostat_duty_cycle, turbidostat_should_dilute
from pioleader.unit.ekf import Estimate, GrowthRateFilter
from pioleader.unit.hardware import CultureParameters, SimulatedHardware
from tests.unit.conftest import at_optimum

CHANNELS = {"2": "90"}
READ_EVERY = timedelta(seconds=5)
MAX_SUBDOSE = 1.0
MAX_VOLUME_TO_STOP = 18.0
EFFLUX_ML = 14.0


@dataclass
class Reactor:
    """A simulated unit with OD readings every 5 s feeding the growth-rate filter."""

    params: CultureParameters
    clock: ManualClock = field(
        default_factory=lambda: ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    ekf: GrowthRateFilter = field(default_factory=GrowthRateFilter)
    estimates: list[tuple[float, Estimate]] = field(default_factory=list)
    max_volume: float = 0.0

    def __post_init__(self) -> None:
        self.hardware = SimulatedHardware(self.clock, self.params)
        self.hardware.set_ir_led(80.0)
        od = self.hardware.snapshot().od
        self.hardware.load_vial(0.0)  # the blank, taken before inoculation
        blank = statistics.fmean(self.hardware.read_photodiodes(CHANNELS)["2"] for _ in range(20))
        self.hardware.load_vial(od, growing=True)
        self.ekf.blanks = {"2": blank}
        self.start = self.clock.now()

    @property
    def hours(self) -> float:
        return (self.clock.now() - self.start).total_seconds() / 3600

    def read(self) -> Estimate | None:
        self.clock.advance(READ_EVERY)
        estimate = self.ekf.update(self.clock.now(), self.hardware.read_photodiodes(CHANNELS))
        if estimate is not None:
            self.estimates.append((self.hours, estimate))
        return estimate

    def exchange(self, ml: float) -> None:
        """What dosing_automation does: sub-doses of media, each followed by 2× waste."""
        media, waste = self.params.pump_flow_ml_per_s[0], self.params.pump_flow_ml_per_s[2]
        for part in subdoses(ml, MAX_SUBDOSE):
            self.hardware.run_pump("media", part / media)
            self.max_volume = max(self.max_volume, self.hardware.snapshot().volume_ml)
            self.hardware.run_pump("waste", 2 * part / waste)
        self.ekf.dosing_event()

    def rates_after(self, hours: float) -> list[float]:
        return [e.growth_rate for at, e in self.estimates if at >= hours]


def culture(**changes: Any) -> CultureParameters:
    """A culture at its optimum, 2.0 h⁻¹ of wall-clock time at the most (0.5 × 4)."""
    base = {"seed": 11, "growth_rate_per_hour": 0.5, "lag_hours": 0.1, "noise": 0.01}
    return at_optimum(**{**base, "speedup": 4.0, "vessel_capacity_ml": 20.0, **changes})


def test_chemostat_growth_rate_settles_at_the_dilution_rate() -> None:
    """At dilution rate D the estimated growth rate should settle within 10 % of D, and the
    volume should never pass the working limit."""
    reactor = Reactor(culture(carrying_capacity=0.6))  # lean media: a thin steady state
    dilution_rate, minutes = 1.0, 3.0  # per hour of wall clock; a run every 3 minutes
    exchange_ml = dilution_rate * EFFLUX_ML * minutes / 60
    reads_per_run = int(minutes * 60 / READ_EVERY.total_seconds())
    while reactor.hours < 10:
        for _ in range(reads_per_run):
            reactor.read()
        reactor.exchange(exchange_ml)
    settled = reactor.rates_after(8.0)
    assert statistics.fmean(settled) == pytest.approx(dilution_rate, rel=0.10)
    assert reactor.max_volume <= EFFLUX_ML + MAX_SUBDOSE + 1e-9 < MAX_VOLUME_TO_STOP


def test_turbidostat_holds_the_normalised_od_in_its_band() -> None:
    """After the first dilution, the culture's normalised OD should stay within 10 % of the
    target (it dips by one exchange's dilution, about 7 %, then grows back)."""
    reactor = Reactor(culture())
    target, exchange_ml = 2.0, 1.0
    last_dilution: float | None = None
    normalised: list[float] = []
    while reactor.hours < 6:
        estimate = reactor.read()
        if estimate is None:
            continue
        base = reactor.ekf.normalization["2"]
        now = reactor.clock.now().timestamp()
        since = None if last_dilution is None else now - last_dilution
        if turbidostat_should_dilute(estimate.od_filtered, target, since):
            reactor.exchange(exchange_ml)
            last_dilution = now
        if last_dilution is not None:
            volts = reactor.hardware.read_photodiodes(CHANNELS)["2"] - reactor.ekf.blanks["2"]
            normalised.append(volts / base)
    assert last_dilution is not None and len(normalised) > 1000
    # The true signal, one reading at a time, noise included (1 %): the band is the target ±10 %.
    assert target * 0.9 <= statistics.fmean(normalised) <= target * 1.1
    assert all(target * 0.85 <= value <= target * 1.1 for value in normalised)


def test_thermostat_settles_within_half_a_degree() -> None:
    """With the default gains and a reading every 225 s, the culture should settle within
    ±0.5 ℃ of the target and stay there."""
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = SimulatedHardware(clock, CultureParameters(seed=5, ambient_c=22.0))
    pid = PID(2.6, 0.0, 4.6, setpoint=32.0, output_limits=(-25.0, 25.0))
    duty_cycle = 0.0
    settled: list[float] = []
    for step in range(int(6 * 3600 / 225)):
        clock.advance(timedelta(seconds=225))
        temperature = hardware.read_temperature()
        duty_cycle, _ = thermostat_duty_cycle(pid, temperature, duty_cycle)
        hardware.set_pwm("heating", duty_cycle)
        if step * 225 >= 2 * 3600:
            settled.append(hardware.snapshot().temperature_c)
    assert all(abs(t - 32.0) <= 0.5 for t in settled)
    assert statistics.fmean(settled) == pytest.approx(32.0, abs=0.1)


def test_every_pump_run_matches_the_model() -> None:
    """The volume a dosing event reports is what the model's pump moved, and waste never
    takes the vessel below the efflux tube."""
    reactor = Reactor(culture())
    hardware = reactor.hardware
    for pump, ml in (("media", 0.7), ("alt_media", 1.3), ("waste", 5.0), ("media", 2.0)):
        flow = reactor.params.pump_flow_ml_per_s[("media", "alt_media", "waste").index(pump)]
        before = hardware.snapshot().volume_ml
        moved = hardware.run_pump(pump, ml / flow)
        after = hardware.snapshot().volume_ml
        assert moved == pytest.approx(ml)
        if pump == "waste":
            assert after == pytest.approx(max(EFFLUX_ML, before - ml))
        else:
            assert after - before == pytest.approx(ml)
