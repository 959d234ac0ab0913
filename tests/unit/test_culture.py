"""The bioreactor model on its own: growth phases, temperature, liquid, optics, heat, stirring."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pioleader.clock import ManualClock
from pioleader.unit.culture import Bioreactor, CultureParameters, cardinal_temperature_factor
from pioleader.unit.hardware import SimulatedHardware
from tests.unit.conftest import at_optimum

HOUR = 3600.0


def test_batch_shows_lag_then_exponential_growth_then_saturation() -> None:
    model = Bioreactor(at_optimum(lag_hours=3.0, growth_rate_per_hour=0.6))
    model.advance(0.25 * HOUR)
    in_lag = model.specific_growth_rate()
    model.advance(8 * HOUR)
    exponential = model.specific_growth_rate()
    assert in_lag < 0.4 * exponential
    assert exponential == pytest.approx(0.6, rel=0.1)

    model.advance(40 * HOUR)
    assert model.biomass_od == pytest.approx(model.params.carrying_capacity, rel=0.02)
    assert model.specific_growth_rate() < 0.05


def test_exponential_phase_grows_at_the_true_rate() -> None:
    model = Bioreactor(at_optimum(lag_hours=0.01, growth_rate_per_hour=0.5))
    model.advance(1 * HOUR)
    before = model.biomass_od
    model.advance(2 * HOUR)
    measured = math.log(model.biomass_od / before) / 2
    assert measured == pytest.approx(0.5, rel=0.05)


def test_speedup_runs_biology_faster_but_not_heat() -> None:
    slow = Bioreactor(at_optimum())
    fast = Bioreactor(at_optimum(speedup=10.0))
    slow.advance(10 * HOUR)
    fast.advance(1 * HOUR)
    assert fast.biomass_od == pytest.approx(slow.biomass_od, rel=1e-6)

    fast.heater_duty_cycle = 50.0
    fast.advance(fast.params.heater_time_constant_s)
    rise = fast.temperature_c - 37.0
    assert rise == pytest.approx(10.0 * (1 - math.exp(-1)), rel=1e-6)


def test_cardinal_temperature_factor() -> None:
    p = CultureParameters(seed=1)
    assert cardinal_temperature_factor(p.t_opt_c, p) == pytest.approx(1.0)
    assert cardinal_temperature_factor(p.t_min_c, p) == 0.0
    assert cardinal_temperature_factor(p.t_max_c + 1, p) == 0.0
    assert 0 < cardinal_temperature_factor(25.0, p) < cardinal_temperature_factor(33.0, p) < 1


def test_media_dilutes_biomass_and_feeds_it_and_waste_stops_at_the_efflux_tube() -> None:
    model = Bioreactor(at_optimum(pump_flow_ml_per_s=(0.5, 0.5, 1.0)))
    model.advance(30 * HOUR)  # saturated: no substrate left
    od = model.biomass_od
    assert model.specific_growth_rate() < 0.01

    moved = model.run_pump("media", 2.0, 100.0)
    assert moved == pytest.approx(1.0)
    assert model.volume_ml == pytest.approx(15.0)
    assert model.biomass_od == pytest.approx(od * 14 / 15)
    assert model.specific_growth_rate() > 0.1

    removed = model.run_pump("waste", 3.0, 100.0)
    assert removed == pytest.approx(3.0)  # the pump ran 3 mL worth, mostly air
    assert model.volume_ml == pytest.approx(14.0)  # but only down to the efflux tube


def test_alt_media_mixes_and_slows_growth() -> None:
    model = Bioreactor(at_optimum(lag_hours=0.01))
    model.advance(HOUR)
    plain = model.specific_growth_rate()
    moved = model.run_pump("alt_media", 7.0 / (0.75 / 2), 50.0)
    assert moved == pytest.approx(7.0)  # half the flow at half the duty cycle
    assert model.alt_media_fraction == pytest.approx(7 / 21)
    assert model.volume_ml == pytest.approx(20.0)  # capped at the vessel; the rest spilled
    assert model.specific_growth_rate() < plain


def test_unknown_pump_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pump"):
        Bioreactor(at_optimum()).run_pump("beer", 1.0, 100.0)


def test_optics_follow_od_and_ir_intensity() -> None:
    model = Bioreactor(at_optimum())
    model.ir_led_intensity = 80.0
    low = model.photodiode_volts("90")
    transmitted_low = model.photodiode_volts("180")
    model.biomass_od = 1.0
    high = model.photodiode_volts("90")
    assert high > 5 * low
    assert model.photodiode_volts("180") < transmitted_low
    model.ir_led_intensity = 40.0
    assert model.photodiode_volts("90") == pytest.approx(high / 2, rel=1e-5)
    assert model.photodiode_volts("REF") == pytest.approx(0.25 * 0.4, rel=1e-6)


def test_noise_is_seeded() -> None:
    noisy = replace(at_optimum(), noise=0.01)
    a, b = Bioreactor(noisy), Bioreactor(noisy)
    for model in (a, b):
        model.ir_led_intensity = 80.0
    readings_a = [a.photodiode_volts("90") for _ in range(5)]
    assert readings_a == [b.photodiode_volts("90") for _ in range(5)]
    assert len(set(readings_a)) == 5


def test_units_get_their_own_reproducible_cultures() -> None:
    one, two = CultureParameters.for_unit("pio01"), CultureParameters.for_unit("pio02")
    assert one == CultureParameters.for_unit("pio01")
    assert one.growth_rate_per_hour != two.growth_rate_per_hour
    assert one.initial_od != two.initial_od


def test_heater_approaches_its_equilibrium_and_cools_to_ambient() -> None:
    model = Bioreactor(CultureParameters(seed=1, ambient_c=22.0))
    model.heater_duty_cycle = 50.0
    model.advance(10 * model.params.heater_time_constant_s)
    assert model.temperature_c == pytest.approx(32.0, abs=0.01)
    model.heater_duty_cycle = 0.0
    model.advance(10 * model.params.heater_time_constant_s)
    assert model.temperature_c == pytest.approx(22.0, abs=0.01)


def test_stirrer_follows_duty_cycle_with_inertia_and_stalls_when_low() -> None:
    model = Bioreactor(CultureParameters(seed=1))
    model.stirrer_duty_cycle = 25.0
    model.advance(model.params.stirrer_time_constant_s)
    assert model.rpm == pytest.approx(550 * (1 - math.exp(-1)))
    model.advance(20)
    assert model.rpm == pytest.approx(550, rel=1e-3)
    model.stirrer_duty_cycle = 5.0
    model.advance(20)
    assert model.rpm_reading() == 0.0


def test_simulated_hardware_advances_with_the_clock() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hardware = SimulatedHardware(clock, at_optimum(lag_hours=0.01))
    start = hardware.snapshot().od
    clock.advance(timedelta(hours=1))
    assert hardware.snapshot().od == pytest.approx(start * math.exp(0.4), rel=0.05)
    hardware.set_led("C", 50.0)
    assert hardware.led_intensities()["C"] == 50.0
    with pytest.raises(ValueError, match="LED channel"):
        hardware.set_led("E", 1.0)
    hardware.load_vial(0.5)
    clock.advance(timedelta(hours=1))
    assert hardware.snapshot().od == 0.5
