"""What follows a change of assignment: the retained MQTT message units watch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pioleader.api.assignments.models import AssignmentMessage
from pioleader.bus import topics
from pioleader.clock import format_timestamp
from pioleader.services import Services


async def publish_assignment(
    services: Services,
    unit: str,
    experiment: str | None,
    assigned_at: str | None,
    now: datetime,
) -> None:
    """Publish (retained) which experiment ``unit`` is in; null fields mean unassigned."""
    message = AssignmentMessage(
        pioreactor_unit=unit,
        experiment=experiment,
        assigned_at=assigned_at,
        updated_at=format_timestamp(now),
    )
    await services.bus.publish(topics.assignment(unit), message.model_dump(), qos=1, retain=True)


async def publish_unassigned(services: Services, units: Iterable[str], now: datetime) -> None:
    for unit in units:
        await publish_assignment(services, unit, None, None, now)
