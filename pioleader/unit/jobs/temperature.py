"""``temperature_automation``: read the temperature every ``seconds_between_readings``, publish
it, and let the automation set the heater: ``thermostat`` (a PID whose output changes the duty
cycle) or ``only_record_temperature`` (heater off)."""

from __future__ import annotations

from typing import Any, ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.control import PID, thermostat_duty_cycle
from pioleader.unit.jobs.automation import (
    Automation,
    AutomationJob,
    Event,
    Field,
)
from pioleader.unit.jobs.base import Setting

READ_EVERY_SECONDS = 225.0


class OnlyRecordTemperature(Automation["TemperatureAutomation"]):
    automation_name = "only_record_temperature"
    display_name = "Only record temperature"
    description = "Keep the heater off and record the temperature."

    async def start(self) -> None:
        await self.job.set_heater(0.0)


class Thermostat(Automation["TemperatureAutomation"]):
    automation_name = "thermostat"
    display_name = "Thermostat"
    description = "Hold the culture at a target temperature with a PID on the heater."
    fields: ClassVar[dict[str, Field]] = {
        "target_temperature": Field(
            "float", 30.0, "Target temperature, in ℃.", "Target temperature", "℃", 0.0, 50.0
        ),
    }

    async def start(self) -> None:
        section = "temperature_automation.thermostat"
        self.pid = PID(
            float(self.job.config_get(section, "Kp", "2.6")),
            float(self.job.config_get(section, "Ki", "0.0")),
            float(self.job.config_get(section, "Kd", "4.6")),
            setpoint=float(self.setting("target_temperature")),
            output_limits=(-25.0, 25.0),
        )

    async def changed(self, name: str) -> None:
        self.pid.setpoint = float(self.setting("target_temperature"))

    async def execute(self) -> Event | None:
        duty_cycle, delta = thermostat_duty_cycle(
            self.pid, self.job.latest_temperature, float(self.job.values["heater_duty_cycle"])
        )
        await self.job.set_heater(duty_cycle)
        return Event(
            "UpdatedHeaterDC",
            f"delta_dc={delta:.2f}",
            {"current_dc": duty_cycle, "delta_dc": round(delta, 4)},
        )


TEMPERATURE_AUTOMATIONS: tuple[type[Automation[Any]], ...] = (Thermostat, OnlyRecordTemperature)


class TemperatureAutomation(AutomationJob):
    job_name = "temperature_automation"
    help = "Control (or only record) the culture's temperature."
    kind = "temperature"
    automation_classes = TEMPERATURE_AUTOMATIONS
    extra_settings: ClassVar[dict[str, Setting]] = {
        "temperature": Setting("json", unit="℃"),
        "heater_duty_cycle": Setting("float", unit="%"),
    }
    first_run_delay_seconds = 0.0
    latest_temperature: float

    async def on_init(self) -> None:
        self.read_every = float(
            self.config_get(
                "temperature_automation.config", "seconds_between_readings", str(READ_EVERY_SECONDS)
            )
        )
        await self.set_heater(0.0)
        await super().on_init()

    async def set_heater(self, duty_cycle: float) -> None:
        self.context.hardware.set_pwm("heating", duty_cycle)
        await self.publish_setting("heater_duty_cycle", round(duty_cycle, 3))

    async def main(self) -> None:
        delay = self.first_run_delay_seconds
        while await self.pause(delay):
            await self.while_ready()
            self.latest_temperature = self.context.hardware.read_temperature()
            await self.publish_setting(
                "temperature",
                {
                    "temperature": self.latest_temperature,
                    "timestamp": format_timestamp(self.context.clock.now()),
                },
            )
            await self.run_once()
            delay = self.read_every

    async def on_sleeping(self) -> None:
        self.context.hardware.set_pwm("heating", 0.0)

    async def on_ready_again(self) -> None:
        self.context.hardware.set_pwm("heating", float(self.values.get("heater_duty_cycle", 0.0)))

    async def on_disconnected(self) -> None:
        await super().on_disconnected()
        self.context.hardware.set_pwm("heating", 0.0)


class TemperatureAutomationContrib(Automation[TemperatureAutomation]):
    """What a plugin's temperature automation subclasses (setting ``automation_name``,
    ``display_name``, ``description`` and its ``fields``) to join ``temperature_automation``."""
