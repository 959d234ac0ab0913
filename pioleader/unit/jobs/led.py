"""``led_automation``: ``light_dark_cycle`` (channels C and D on for ``light_duration_minutes``,
off for ``dark_duration_minutes``, checked every minute) or ``silent``."""

from __future__ import annotations

from typing import Any, ClassVar

from pioleader.unit.control import light_is_on
from pioleader.unit.jobs.actions import change_leds
from pioleader.unit.jobs.automation import (
    Automation,
    AutomationJob,
    Event,
    Field,
)

CYCLE_CHANNELS = ("C", "D")


class SilentLed(Automation["LedAutomation"]):
    automation_name = "silent"
    display_name = "Silent"
    description = "Leave the LEDs as they are."


class LightDarkCycle(Automation["LedAutomation"]):
    automation_name = "light_dark_cycle"
    display_name = "Light/Dark cycle"
    description = "Alternate LEDs C and D on (light phase) and off (dark phase)."
    fields: ClassVar[dict[str, Field]] = {
        "light_intensity": Field(
            "float", 50.0, "Intensity of the light phase, in %.", "Intensity", "%", 0.0, 100.0
        ),
        "light_duration_minutes": Field(
            "float", 960.0, "Length of the light phase.", "Light duration", "min", 0.0
        ),
        "dark_duration_minutes": Field(
            "float", 480.0, "Length of the dark phase.", "Dark duration", "min", 0.0
        ),
    }
    lit: bool | None = None

    def period_seconds(self) -> float | None:
        return 60.0

    async def changed(self, name: str) -> None:
        self.lit = None  # re-apply at the next check

    async def execute(self) -> Event | None:
        minutes = (self.job.context.clock.now() - self.job.started_at).total_seconds() / 60
        lit = light_is_on(
            minutes,
            float(self.setting("light_duration_minutes")),
            float(self.setting("dark_duration_minutes")),
        )
        if lit == self.lit:
            return None
        self.lit = lit
        intensity = float(self.setting("light_intensity")) if lit else 0.0
        await change_leds(
            self.job, dict.fromkeys(CYCLE_CHANNELS, intensity), "led_automation:light_dark_cycle"
        )
        return Event(
            "ChangedLedIntensity", f"{minutes:.1f}min: turned {'on' if lit else 'off'} LEDs."
        )


LED_AUTOMATIONS: tuple[type[Automation[Any]], ...] = (LightDarkCycle, SilentLed)


class LedAutomation(AutomationJob):
    job_name = "led_automation"
    help = "Run an LED automation."
    kind = "led"
    automation_classes = LED_AUTOMATIONS
    first_run_delay_seconds = 0.0


class LedAutomationContrib(Automation[LedAutomation]):
    """What a plugin's LED automation subclasses (setting ``automation_name``,
    ``display_name``, ``description`` and its ``fields``) to join ``led_automation``."""
