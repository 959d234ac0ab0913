"""Moving liquid: the one place a pump runs, a dosing event is published and the bioreactor
variables are updated. Pump actions and dosing automations both go through ``dose``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pioleader.clock import format_timestamp

if TYPE_CHECKING:
    from pioleader.unit.jobs.base import BackgroundJob

# Pump → the dosing event it publishes.
EVENTS = {"media": "add_media", "alt_media": "add_alt_media", "waste": "remove_waste"}
# Until a pump calibration exists, mL become seconds at this nominal rate ([pumps] overrides).
NOMINAL_ML_PER_SECOND = 0.75
_CHUNK_SECONDS = 0.25


def ml_per_second(job: BackgroundJob, pump: str) -> float:
    rate = float(job.config_get("pumps", f"{pump}_ml_per_second", str(NOMINAL_ML_PER_SECOND)))
    if rate <= 0:
        raise ValueError(f"[pumps] {pump}_ml_per_second must be positive")
    return rate


def after_dose(
    values: Mapping[str, float], pump: str, ml: float, capacity: float | None
) -> dict[str, float]:
    """The bioreactor variables after ``ml`` went through ``pump`` (waste stops at the efflux
    tube; additions mix into the alt-media fraction)."""
    volume = values["current_volume_ml"]
    if pump == "waste":
        removable = max(0.0, volume - values["efflux_tube_volume_ml"])
        return {
            "current_volume_ml": volume - min(ml, removable),
            "cumulative_waste_removed_ml": values["cumulative_waste_removed_ml"] + ml,
        }
    total = volume + ml
    alt = values["alt_media_fraction"] * volume + (ml if pump == "alt_media" else 0.0)
    counter = (
        "cumulative_alt_media_added_ml" if pump == "alt_media" else "cumulative_media_added_ml"
    )
    return {
        "current_volume_ml": min(total, capacity) if capacity else total,
        "alt_media_fraction": alt / total if total > 0 else 0.0,
        counter: values[counter] + ml,
    }


async def dose(
    job: BackgroundJob,
    pump: str,
    *,
    ml: float | None = None,
    seconds: float | None = None,
    source: str,
) -> float:
    """Run ``pump`` for ``ml`` (or ``seconds``), publishing the dosing event first; return the
    mL it was asked to move. Stops early, without finishing the run, if the job stops."""
    rate = ml_per_second(job, pump)
    if ml is None:
        ml = (seconds or 0.0) * rate
    duration = ml / rate
    context = job.context
    await job.publish_data(
        "dosing_events",
        {
            "volume_change": round(ml, 6),
            "event": EVENTS[pump],
            "source_of_event": source,
            "timestamp": format_timestamp(context.clock.now()),
        },
    )
    await _book(job, pump, ml)
    left = duration
    while left > 0:
        chunk = min(_CHUNK_SECONDS, left)
        context.hardware.run_pump(pump, chunk)
        left -= chunk
        if left > 0 and not await job.pause(chunk):
            break
    return ml


async def _book(job: BackgroundJob, pump: str, ml: float) -> None:
    context = job.context
    if context.bioreactor is None:
        return
    values = await context.bioreactor.values(context.experiment, context.config)
    changed = after_dose(values, pump, ml, context.capacity_ml)
    await context.bioreactor.update(context.experiment, changed, context.clock.now())
    for variable, value in changed.items():
        await job.publish_data(f"bioreactor/{variable}", str(round(value, 6)), retain=True)
