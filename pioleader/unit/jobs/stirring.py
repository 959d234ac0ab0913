"""``stirring``: keep the stirrer at ``target_rpm`` with a PI loop on the measured speed."""

from __future__ import annotations

from typing import ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.jobs.base import BackgroundJob, Option, Setting


class Stirring(BackgroundJob):
    job_name = "stirring"
    help = "Stir the culture at a target RPM (closed loop on the measured RPM)."
    published_settings: ClassVar[dict[str, Setting]] = {
        "target_rpm": Setting("float", settable=True, unit="RPM"),
        "measured_rpm": Setting("json", unit="RPM"),
        "duty_cycle": Setting("float", settable=True, unit="%"),
    }
    options: ClassVar[dict[str, Option]] = {
        "target_rpm": Option("float", "Target speed in RPM (default: [stirring.config])."),
    }

    async def on_init(self) -> None:
        section = "stirring.config"
        configured = float(self.config_get(section, "initial_target_rpm", "500"))
        target = self.option("target_rpm")
        self.update_interval = float(
            self.config_get(section, "duration_between_updates_seconds", "23")
        )
        self.kp = float(self.config_get("stirring.pid", "Kp", "0.007"))
        self.ki = float(self.config_get("stirring.pid", "Ki", "0.0"))
        self._integral = 0.0
        await self.set_target_rpm(float(target) if target is not None else configured)
        await self.set_duty_cycle(float(self.config_get(section, "initial_duty_cycle", "15")))

    async def set_target_rpm(self, value: float) -> None:
        await self.publish_setting("target_rpm", max(0.0, min(5000.0, float(value))))

    async def set_duty_cycle(self, value: float) -> None:
        duty_cycle = round(max(0.0, min(100.0, float(value))), 5)
        if self.state != "sleeping":
            self.context.hardware.set_pwm("stirring", duty_cycle)
        await self.publish_setting("duty_cycle", duty_cycle)

    async def main(self) -> None:
        delay = min(6.0, self.update_interval)  # a first look soon after start, then regularly
        while await self.pause(delay):
            await self.while_ready()
            await self._control_step()
            delay = self.update_interval

    async def _control_step(self) -> None:
        measured = self.context.hardware.measure_rpm()
        await self.publish_setting(
            "measured_rpm",
            {"measured_rpm": measured, "timestamp": format_timestamp(self.context.clock.now())},
        )
        error = float(self.values["target_rpm"]) - measured
        self._integral += error * self.update_interval
        adjustment = self.kp * error + self.ki * self._integral
        await self.set_duty_cycle(float(self.values["duty_cycle"]) + adjustment)

    async def on_sleeping(self) -> None:
        self.context.hardware.set_pwm("stirring", 0.0)

    async def on_ready_again(self) -> None:
        self.context.hardware.set_pwm("stirring", float(self.values.get("duty_cycle", 0.0)))

    async def on_disconnected(self) -> None:
        self.context.hardware.set_pwm("stirring", 0.0)
