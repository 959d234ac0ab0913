"""Every router of the unit API, in registration order; the worker and the leader serve them."""

from __future__ import annotations

from pioleader.unit.calibrations.estimators_router import router as estimators_router
from pioleader.unit.calibrations.router import router as calibrations_router
from pioleader.unit.calibrations.sessions_router import router as sessions_router
from pioleader.unit.router import router as unit_router

# Sessions before calibrations: /calibrations/sessions would otherwise be taken for a device.
UNIT_ROUTERS = (unit_router, sessions_router, calibrations_router, estimators_router)
