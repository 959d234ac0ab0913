"""The dependency alias of every unit API handler: the unit's services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pioleader.unit.services import UnitServices


async def get_unit(request: Request) -> UnitServices:
    unit: UnitServices = request.app.state.unit
    return unit


UnitDep = Annotated[UnitServices, Depends(get_unit)]
