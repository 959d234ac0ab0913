"""``self_test``: check the unit's hardware the way a user would before an experiment, and
publish each check's outcome retained on ``self_test/<check>`` plus ``all_tests_passed``.

It drives the IR LED, the photodiodes and the stirrer itself, so it refuses to start while a
job that uses them runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from pioleader.unit.jobs.base import BackgroundJob, JobRefused, Setting
from pioleader.unit.jobs.od_reading import photodiode_channels

CONFLICTING = ("od_reading", "stirring", "temperature_automation", "led_automation", "od_blank")
CHECKS = (
    "test_pioreactor_HAT_present",
    "test_detect_heating_pcb",
    "test_REF_is_present",
    "test_ambient_light_interference",
    "test_all_positive_correlations_between_pds_and_leds",
    "test_positive_correlation_between_rpm_and_stirring",
)
# Signal (V) below which a photodiode counts as dark, and above which REF counts as lit.
DARK_VOLTS = 0.01
REF_VOLTS = 0.02


class SelfTest(BackgroundJob):
    job_name = "self_test"
    help = "Check the HAT, heater sensor, photodiodes, IR LED and stirrer."
    published_settings: ClassVar[dict[str, Setting]] = {
        **{check: Setting("boolean", persist=True) for check in CHECKS},
        "all_tests_passed": Setting("boolean", persist=True),
    }

    async def on_init(self) -> None:
        busy = sorted(
            {row["job_name"] for row in await self.context.registry.running()} & set(CONFLICTING)
        )
        if busy:
            raise JobRefused(f"Stop {', '.join(busy)} first: self_test needs the hardware alone.")
        self.channels = photodiode_channels(self.context.config)

    async def main(self) -> None:
        checks: dict[str, Callable[[], Awaitable[bool]]] = {
            "test_pioreactor_HAT_present": self._hat,
            "test_detect_heating_pcb": self._heating_pcb,
            "test_REF_is_present": self._ref,
            "test_ambient_light_interference": self._ambient,
            "test_all_positive_correlations_between_pds_and_leds": self._correlations,
            "test_positive_correlation_between_rpm_and_stirring": self._stirring,
        }
        passed = True
        for name, check in checks.items():
            try:
                ok = await check()
            except (RuntimeError, ValueError) as error:
                await self.log("error", f"{name} failed: {error}")
                ok = False
            passed = passed and ok
            await self.publish_setting(name, ok)
        await self.publish_setting("all_tests_passed", passed)
        await self.log("notice", "All tests passed." if passed else "Some tests failed.")

    async def _hat(self) -> bool:
        self.context.hardware.led_intensities()  # answers only if the HAT is there
        return True

    async def _heating_pcb(self) -> bool:
        return -10.0 < self.context.hardware.read_temperature() < 80.0

    async def _read(self, intensity: float) -> dict[str, float]:
        self.context.hardware.set_ir_led(intensity)
        await self.pause(0.05)
        return self.context.hardware.read_photodiodes(self.channels)

    async def _ref(self) -> bool:
        refs = [ch for ch, angle in self.channels.items() if angle == "REF"]
        readings = await self._read(50.0)
        return bool(refs) and all(readings[ch] > REF_VOLTS for ch in refs)

    async def _ambient(self) -> bool:
        return all(volts < DARK_VOLTS for volts in (await self._read(0.0)).values())

    async def _correlations(self) -> bool:
        readings = [await self._read(level) for level in (0.0, 40.0, 80.0)]
        return all(readings[0][ch] < readings[1][ch] < readings[2][ch] for ch in self.channels)

    async def _stirring(self) -> bool:
        hardware = self.context.hardware
        speeds = []
        for duty_cycle in (25.0, 45.0):
            hardware.set_pwm("stirring", duty_cycle)
            await self.pause(3.0)
            speeds.append(hardware.measure_rpm())
        return 0 < speeds[0] < speeds[1]

    async def on_disconnected(self) -> None:
        self.context.hardware.set_ir_led(0.0)
        self.context.hardware.set_pwm("stirring", 0.0)
