"""``create_app(settings)``: the leader's FastAPI application.

Nothing happens at import time. The lifespan opens every resource (``services.py``) and closes
it at shutdown; routers only declare routes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from pioleader import __version__
from pioleader.api.archives.router import router as archives_router
from pioleader.api.assignments.router import router as assignments_router
from pioleader.api.assignments.service import republish_assignments
from pioleader.api.calibration_sessions.router import router as calibration_sessions_router
from pioleader.api.calibrations.router import router as calibrations_router
from pioleader.api.chart_preferences.router import router as chart_preferences_router
from pioleader.api.config.router import router as config_router
from pioleader.api.datasets.router import router as datasets_router
from pioleader.api.descriptors.router import router as descriptors_router
from pioleader.api.descriptors.router import unit_router as unit_descriptors_router
from pioleader.api.discovery.router import router as discovery_router
from pioleader.api.dosing.router import router as dosing_router
from pioleader.api.estimators.router import router as estimators_router
from pioleader.api.experiments.router import router as experiments_router
from pioleader.api.ingester.router import router as ingester_router
from pioleader.api.jobs.router import router as jobs_router
from pioleader.api.labels.router import router as labels_router
from pioleader.api.logs.router import router as logs_router
from pioleader.api.plugins.router import router as plugins_router
from pioleader.api.profiles.router import router as profiles_router
from pioleader.api.system.router import router as system_router
from pioleader.api.timeseries.router import router as timeseries_router
from pioleader.api.ui_compat.router import ui_compat_router
from pioleader.api.units.router import router as units_router
from pioleader.api.updates.router import router as updates_router
from pioleader.api.usb.router import router as usb_router
from pioleader.api.workers.router import router as workers_router
from pioleader.bus import MqttBus
from pioleader.errors import install_error_handlers
from pioleader.security import install_request_safety
from pioleader.services import Overrides, open_services
from pioleader.settings import LeaderSettings
from pioleader.unit.router import unit_api_router
from pioleader.webui import install_ui

DESCRIPTION = """\
The Pioreactor leader API, served by pioleader.

* Errors always have the body `{error, cause, remediation, status}`.
* Slow operations answer **202** with `{unit, task_id, result_url_path, status: "accepted"}`;
  poll `GET result_url_path` (202 while pending or running, then 200 with `succeeded` and
  `result`, or `failed` and `error`).
* Results of operations on several units are `{unit: envelope}`, where an envelope is
  `{ok: true, unit, value}` or `{ok: false, unit, error: {kind, message, ...}, status_code,
  retryable}`.
* `$broadcast` in place of a unit name targets every unit (or worker) where documented.
"""


def create_app(settings: LeaderSettings, overrides: Overrides | None = None) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings, overrides) as services:
            app.state.services = services
            app.state.unit = services.unit
            if isinstance(services.bus, MqttBus):
                # Retained assignments must survive a broker that restarted without them.
                services.bus.on_connect(lambda: republish_assignments(services))
            yield

    app = FastAPI(
        title="pioleader",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_request_safety(app, settings.safety)
    # Static paths (/api/experiments/latest, /api/workers/assignments) are registered before
    # the parameterised ones they would otherwise be taken for.
    routers = (
        assignments_router,
        experiments_router,
        labels_router,
        chart_preferences_router,
        discovery_router,
        workers_router,
        units_router,
        jobs_router,
        system_router,
        updates_router,
        datasets_router,
        timeseries_router,
        logs_router,
        dosing_router,
        profiles_router,
        config_router,
        plugins_router,
        usb_router,
        archives_router,
        ingester_router,
        descriptors_router,
        # Sessions before calibrations: .../calibrations/sessions is not a device.
        calibration_sessions_router,
        calibrations_router,
        estimators_router,
        unit_api_router(),
        unit_descriptors_router,
    )
    for router in routers:
        app.include_router(router)
    # The older paths of UI builds up to 25.11, answered by the seed's routes above.
    app.include_router(ui_compat_router(route for router in routers for route in router.routes))
    if settings.ui_dir is not None:
        install_ui(app, settings.ui_dir)
    return app
