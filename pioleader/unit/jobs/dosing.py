"""``dosing_automation``: ``chemostat``, ``turbidostat``, ``pid_morbidostat``, ``fed_batch`` and
``silent``. Liquid moves only through ``pumping.dose``; every exchange is split into sub-doses
of at most ``max_subdose`` mL, each followed by waste removal, and no addition may take the
booked volume past ``max_volume_to_stop``."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from pioleader.unit.control import PID, morbidostat_volumes, subdoses, turbidostat_should_dilute
from pioleader.unit.jobs.automation import (
    Automation,
    AutomationError,
    AutomationJob,
    Event,
    Field,
)
from pioleader.unit.jobs.base import Setting
from pioleader.unit.jobs.pumping import dose

SECTION = "dosing_automation.config"


def _duration(default: float) -> Field:
    return Field(
        "float", default, "Minutes between runs.", "Time between dosing", "min", 0.0, above_low=True
    )


def _exchange(default: float) -> Field:
    return Field(
        "float",
        default,
        "Volume exchanged per run, in mL.",
        "Exchange volume",
        "mL",
        0.0,
        10.0,
        above_low=True,
    )


class VolumeLimit(AutomationError):
    """An addition would take the vessel past ``max_volume_to_stop``."""


async def dilute(job: DosingAutomation, ml: float) -> Event:
    """Exchange ``ml`` of media (chemostat and turbidostat runs)."""
    cycled = await job.exchange(media_ml=ml)
    return Event("DilutionEvent", f"exchanged {cycled:g} mL", {"volume_actually_cycled_ml": cycled})


class SilentDosing(Automation["DosingAutomation"]):
    automation_name = "silent"
    display_name = "Silent"
    description = "Never dose; keep the bookkeeping."


class IntervalAutomation(Automation["DosingAutomation"]):
    def period_seconds(self) -> float | None:
        return float(self.setting("duration")) * 60


class Chemostat(IntervalAutomation):
    automation_name = "chemostat"
    display_name = "Chemostat"
    description = "Exchange a fixed volume of media every period: a constant dilution rate."
    fields: ClassVar[dict[str, Field]] = {
        "duration": _duration(20.0),
        "exchange_volume_ml": _exchange(0.5),
    }

    async def execute(self) -> Event | None:
        return await dilute(self.job, float(self.setting("exchange_volume_ml")))


class Turbidostat(Automation["DosingAutomation"]):
    automation_name = "turbidostat"
    display_name = "Turbidostat"
    description = "Exchange media whenever the biomass signal reaches its target."
    fields: ClassVar[dict[str, Field]] = {
        "target_biomass": Field(
            "float",
            1.5,
            "Biomass signal that triggers a dilution.",
            "Target biomass",
            None,
            0.0,
            above_low=True,
        ),
        "exchange_volume_ml": _exchange(1.0),
        "biomass_signal": Field(
            "string",
            "auto",
            "Which signal: normalized_od, od or auto (od).",
            "Biomass signal",
            choices=("auto", "od", "normalized_od"),
        ),
    }
    _last_dilution: float | None = None

    async def start(self) -> None:
        self._busy = asyncio.Lock()

    async def on_biomass(self, signal: str, value: float) -> None:
        """A new reading of ``signal`` (``od`` or ``normalized_od``) arrived."""
        wanted = str(self.setting("biomass_signal"))
        if (wanted == "auto" and signal != "od") or (wanted != "auto" and wanted != signal):
            return
        if self._busy.locked() or self.job.state != "ready":
            return
        now = self.job.context.clock.now().timestamp()
        since = None if self._last_dilution is None else now - self._last_dilution
        if not turbidostat_should_dilute(value, float(self.setting("target_biomass")), since):
            return
        async with self._busy:
            self._last_dilution = now
            await self.job.run_once()

    async def execute(self) -> Event | None:
        return await dilute(self.job, float(self.setting("exchange_volume_ml")))


class FedBatch(IntervalAutomation):
    automation_name = "fed_batch"
    display_name = "Fed-batch"
    description = "Add media every period, without removing any."
    fields: ClassVar[dict[str, Field]] = {
        "duration": _duration(720.0),
        "dosing_volume_ml": Field(
            "float",
            0.5,
            "Media added per run, in mL.",
            "Dosing volume",
            "mL",
            0.0,
            10.0,
            above_low=True,
        ),
    }

    async def execute(self) -> Event | None:
        ml = float(self.setting("dosing_volume_ml"))
        try:
            await self.job.add_only(ml)
        except VolumeLimit:
            return Event("NoEvent", "Skipped dosing to avoid overflow.")
        return Event("AddMediaEvent", f"Added {ml:g} mL")


class PIDMorbidostat(IntervalAutomation):
    automation_name = "pid_morbidostat"
    display_name = "PID morbidostat"
    description = "Dose alt media (an inhibitor) to hold the growth rate at a target."
    fields: ClassVar[dict[str, Field]] = {
        "duration": _duration(60.0),
        "target_normalized_od": Field(
            "float", 2.0, "Normalised OD to hold.", "Target nOD", None, 0.0, above_low=True
        ),
        "target_growth_rate": Field(
            "float",
            0.1,
            "Growth rate to hold, per hour.",
            "Target growth rate",
            "h⁻¹",
            0.0,
            3.0,
            above_low=True,
        ),
    }

    async def start(self) -> None:
        section = "dosing_automation.pid_morbidostat"
        self.pid = PID(
            -float(self.job.config_get(section, "Kp", "1")),
            float(self.job.config_get(section, "Ki", "0")),
            float(self.job.config_get(section, "Kd", "0")),
            setpoint=float(self.setting("target_growth_rate")),
            output_limits=(0.0, 1.0),
        )
        self.minimum_alt_ml = float(self.job.config_get(section, "minimum_dosing_volume_ml", "0.1"))

    async def changed(self, name: str) -> None:
        self.pid.setpoint = float(self.setting("target_growth_rate"))

    async def execute(self) -> Event | None:
        rate, nod = self.job.latest.get("growth_rate"), self.job.latest.get("normalized_od")
        if rate is None or nod is None:
            return Event("NoEvent", "Waiting for growth rate and normalised OD.")
        target = float(self.setting("target_normalized_od"))
        volumes = morbidostat_volumes(
            self.pid,
            rate,
            nod,
            volume_ml=self.job.booked_volume,
            duration_minutes=float(self.setting("duration")),
            min_od=0.75 * target,
            max_od=1.25 * target,
            minimum_alt_ml=self.minimum_alt_ml,
        )
        if volumes is None:
            return Event("NoEvent", f"Normalised OD {nod:.3f} is below {0.75 * target:g}.")
        media, alt = volumes
        await self.job.exchange(media_ml=media, alt_media_ml=alt)
        return Event(
            "AddAltMediaEvent" if alt > 0 else "DilutionEvent",
            f"exchanged {media:.3f} mL media and {alt:.3f} mL alt media",
            {"media_ml": media, "alt_media_ml": alt},
        )


DOSING_AUTOMATIONS: tuple[type[Automation[Any]], ...] = (
    Chemostat,
    Turbidostat,
    PIDMorbidostat,
    FedBatch,
    SilentDosing,
)


class DosingAutomation(AutomationJob):
    job_name = "dosing_automation"
    help = "Run a dosing automation (pumps media, alt media and waste)."
    kind = "dosing"
    automation_classes = DOSING_AUTOMATIONS
    extra_settings: ClassVar[dict[str, Setting]] = {
        "current_volume_ml": Setting("float", unit="mL"),
        "alt_media_fraction": Setting("float"),
        "max_working_volume_ml": Setting("float", unit="mL"),
    }

    async def on_init(self) -> None:
        self.latest: dict[str, float] = {}
        self.max_subdose = float(self.config_get(SECTION, "max_subdose", "1.0"))
        self.multiplier = float(self.config_get(SECTION, "waste_removal_multiplier", "2.0"))
        self.subdose_pause = float(
            self.config_get(SECTION, "pause_between_subdoses_seconds", "0.5")
        )
        self.max_volume = float(self.config_get(SECTION, "max_volume_to_stop", "18.0"))
        await self._refresh_volumes()
        await super().on_init()
        await self.listen(
            self.experiment_topic("growth_rate_calculating/growth_rate"), self._on_rate
        )
        await self.listen(
            self.experiment_topic("growth_rate_calculating/od_filtered"), self._on_filtered
        )
        await self.listen(self.experiment_topic("od_reading/ods"), self._on_ods)

    @property
    def booked_volume(self) -> float:
        return float(self.values.get("current_volume_ml", 0.0))

    async def _refresh_volumes(self) -> None:
        store = self.context.bioreactor
        values = await store.values(self.context.experiment, self.context.config) if store else {}
        await self.publish_setting(
            "current_volume_ml", round(values.get("current_volume_ml", 0.0), 4)
        )
        await self.publish_setting(
            "alt_media_fraction", round(values.get("alt_media_fraction", 0.0), 6)
        )
        await self.publish_setting(
            "max_working_volume_ml", values.get("efflux_tube_volume_ml", 0.0)
        )

    async def exchange(self, *, media_ml: float = 0.0, alt_media_ml: float = 0.0) -> float:
        """Add media and alt media in sub-doses, each followed by waste removal; return the mL
        added. Stops with an error event if an addition would pass ``max_volume_to_stop``."""
        source = f"{self.job_name}:{self.automation.automation_name}"
        total = 0.0
        plan = [("alt_media", ml) for ml in subdoses(alt_media_ml, self.max_subdose)] + [
            ("media", ml) for ml in subdoses(media_ml, self.max_subdose)
        ]
        for index, (pump, ml) in enumerate(plan):
            self._check_room(ml)
            await dose(self, pump, ml=ml, source=source)
            await dose(self, "waste", ml=ml * self.multiplier, source=source)
            total += ml
            await self._refresh_volumes()
            if index < len(plan) - 1 and not await self.pause(self.subdose_pause):
                break
        return round(total, 6)

    async def add_only(self, ml: float) -> None:
        self._check_room(ml)
        await dose(
            self, "media", ml=ml, source=f"{self.job_name}:{self.automation.automation_name}"
        )
        await self._refresh_volumes()

    def _check_room(self, ml: float) -> None:
        if self.booked_volume + ml > self.max_volume:
            raise VolumeLimit(
                f"adding {ml:g} mL to {self.booked_volume:g} mL would pass max_volume_to_stop"
                f" ({self.max_volume:g} mL)"
            )

    async def _on_rate(self, topic: str, payload: bytes) -> None:
        if payload:
            self.latest["growth_rate"] = float(json.loads(payload)["growth_rate"])

    async def _on_filtered(self, topic: str, payload: bytes) -> None:
        if payload:
            value = float(json.loads(payload)["od_filtered"])
            self.latest["normalized_od"] = value
            await self._biomass("normalized_od", value)

    async def _on_ods(self, topic: str, payload: bytes) -> None:
        if payload:
            ods = json.loads(payload)["ods"]
            value = min(float(reading["od"]) for reading in ods.values())
            self.latest["od"] = value
            await self._biomass("od", value)

    async def _biomass(self, signal: str, value: float) -> None:
        automation = getattr(self, "automation", None)
        if isinstance(automation, Turbidostat):
            await automation.on_biomass(signal, value)


class DosingAutomationContrib(Automation[DosingAutomation]):
    """What a plugin's dosing automation subclasses (setting ``automation_name``,
    ``display_name``, ``description`` and its ``fields``) to join ``dosing_automation``."""
