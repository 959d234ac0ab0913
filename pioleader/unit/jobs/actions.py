"""Short jobs that do one thing and end: the pump actions and ``led_intensity``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pioleader.clock import format_timestamp
from pioleader.unit.culture import LED_CHANNELS
from pioleader.unit.jobs.base import BackgroundJob, Facts, Option
from pioleader.unit.jobs.pumping import dose, ml_per_second

_SOURCE = Option("string", "Who asked, recorded with the event.", "manually")


def _volume_problem(options: Mapping[str, Any]) -> str | None:
    given = [name for name in ("ml", "duration") if options.get(name) is not None]
    if len(given) != 1:
        return "give exactly one of options.ml and options.duration."
    value = float(options[given[0]])
    if not value > 0:
        return f"options.{given[0]} must be > 0, got {value:g}."
    return None


class PumpAction(BackgroundJob):
    """Run one pump for ``ml`` or ``duration`` seconds."""

    pump: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {
        "ml": Option("float", "Volume to move, in mL."),
        "duration": Option("float", "Seconds to run the pump."),
        "source_of_event": _SOURCE,
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        problem = _volume_problem(options)
        if problem or cls.pump == "waste":
            return problem
        ml = options.get("ml")
        if ml is None:
            rate = float(facts.config.get("pumps", f"{cls.pump}_ml_per_second", fallback="0.75"))
            ml = float(options["duration"]) * rate
        volume = facts.bioreactor.get("current_volume_ml", 0.0)
        if facts.capacity_ml is not None and volume + float(ml) > facts.capacity_ml:
            return (
                f"adding {float(ml):g} mL to the {volume:g} mL in the vessel would pass its "
                f"capacity of {facts.capacity_ml:g} mL; remove waste first or add at most "
                f"{max(0.0, facts.capacity_ml - volume):g} mL."
            )
        return None

    async def main(self) -> None:
        ml, duration = self.option("ml"), self.option("duration")
        await dose(
            self,
            self.pump,
            ml=None if ml is None else float(ml),
            seconds=None if duration is None else float(duration),
            source=str(self.option("source_of_event")),
        )


class AddMedia(PumpAction):
    job_name = "add_media"
    help = "Pump fresh media into the vessel."
    pump = "media"


class AddAltMedia(PumpAction):
    job_name = "add_alt_media"
    help = "Pump alternative media into the vessel."
    pump = "alt_media"


class RemoveWaste(PumpAction):
    job_name = "remove_waste"
    help = "Pump liquid out of the vessel, down to the efflux tube."
    pump = "waste"


class Circulate(BackgroundJob):
    """Run a feed pump and the waste pump together for ``duration`` seconds: the volume stays
    at the efflux level while the vessel's liquid is exchanged."""

    feed: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {
        "duration": Option("float", "Seconds to circulate."),
        "source_of_event": _SOURCE,
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        duration = options.get("duration")
        if duration is None or not float(duration) > 0:
            return "options.duration must be given and > 0 (seconds)."
        return None

    async def main(self) -> None:
        duration = float(self.option("duration"))
        source = str(self.option("source_of_event"))
        # Waste runs faster than the feed per second, so the vessel cannot overfill.
        waste_seconds = duration * ml_per_second(self, self.feed) / ml_per_second(self, "waste")
        await dose(self, "waste", seconds=waste_seconds, source=source)
        await dose(self, self.feed, seconds=duration, source=source)
        await dose(self, "waste", seconds=waste_seconds, source=source)


class CirculateMedia(Circulate):
    job_name = "circulate_media"
    help = "Exchange the vessel's liquid with fresh media for a duration."
    feed = "media"


class CirculateAltMedia(Circulate):
    job_name = "circulate_alt_media"
    help = "Exchange the vessel's liquid with alternative media for a duration."
    feed = "alt_media"


class LedIntensity(BackgroundJob):
    """Set LED channels A–D; publish the new map and one change event per changed channel."""

    job_name = "led_intensity"
    help = "Set the intensity (0–100 %) of LED channels A, B, C, D."
    options: ClassVar[dict[str, Option]] = {
        **{ch: Option("float", f"Intensity of channel {ch}, in %.") for ch in LED_CHANNELS},
        "source_of_event": _SOURCE,
    }

    @classmethod
    def check_options(cls, options: Mapping[str, Any], facts: Facts) -> str | None:
        given = {ch: float(options[ch]) for ch in LED_CHANNELS if options.get(ch) is not None}
        if not given:
            return "give at least one channel: options.A, .B, .C or .D (0–100)."
        for channel, value in given.items():
            if not 0 <= value <= 100:
                return f"options.{channel} must be between 0 and 100, got {value:g}."
        return None

    async def main(self) -> None:
        await change_leds(
            self,
            {ch: float(self.option(ch)) for ch in LED_CHANNELS if self.option(ch) is not None},
            str(self.option("source_of_event")),
        )


async def change_leds(job: BackgroundJob, wanted: Mapping[str, float], source: str) -> None:
    """Set LEDs on the hardware; publish ``leds/intensity`` and ``led_change_events``."""
    hardware = job.context.hardware
    before = hardware.led_intensities()
    stamp = format_timestamp(job.context.clock.now())
    for channel, intensity in wanted.items():
        hardware.set_led(channel, intensity)
    after = hardware.led_intensities()
    await job.publish_data("leds/intensity", after, retain=True)
    for channel in wanted:
        if after[channel] != before[channel]:
            await job.publish_data(
                "led_change_events",
                {
                    "channel": channel,
                    "intensity": after[channel],
                    "source_of_event": source,
                    "timestamp": stamp,
                },
            )
