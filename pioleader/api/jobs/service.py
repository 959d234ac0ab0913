"""Job control behind the handlers: who a request reaches (Appendix A), what each unit is sent,
and the MQTT messages that stop or change a running job (behaviour §3.3, §3.4, §6)."""

from __future__ import annotations

import logging

from pioleader.api.dispatch import fanout_task
from pioleader.api.experiments.router import experiment_not_found
from pioleader.api.jobs.models import Accepted, RunJobRequest, Scalar
from pioleader.api.jobs.requests import RunTarget, run_request, setting_payload
from pioleader.bus import BusUnavailable, topics
from pioleader.cluster import UnitRequest
from pioleader.cluster.targets import BROADCAST
from pioleader.errors import ApiError
from pioleader.services import Services
from pioleader.tasks import TaskAccepted

logger = logging.getLogger("pioleader.jobs")

UNIVERSAL_EXPERIMENT = topics.UNIVERSAL_EXPERIMENT


async def require_experiment(services: Services, experiment: str) -> None:
    """404 unless the experiment exists; ``$experiment`` (cluster-level jobs) always does."""
    if experiment != UNIVERSAL_EXPERIMENT and not await services.experiments.exists(experiment):
        raise experiment_not_found(experiment)


async def run_targets(services: Services, unit: str, experiment: str) -> list[RunTarget]:
    """Active workers assigned to ``experiment`` (every active worker for ``$experiment``),
    all of them for ``$broadcast`` or the named one; 404 when that leaves nobody."""
    if experiment == UNIVERSAL_EXPERIMENT:
        workers = [
            RunTarget(w.pioreactor_unit, w.model_name, w.model_version)
            for w in await services.workers.list_all()
            if w.is_active
        ]
    else:
        workers = [
            RunTarget(w.pioreactor_unit, w.model_name, w.model_version)
            for w in await services.assignments.workers_in(experiment)
            if w.is_active
        ]
    chosen = set(await services.targets.narrow(unit, [w.unit for w in workers]))
    if not chosen:
        raise ApiError(
            404,
            f"Worker(s) {unit} not found, not active, or not assigned to experiment {experiment}.",
            cause=f"No active worker assigned to {experiment!r} matches {unit!r}.",
            remediation="Assign the worker with PUT /api/experiments/{experiment}/workers and "
            "activate it with PUT /api/workers/{pioreactor_unit}/is_active.",
        )
    return [worker for worker in workers if worker.unit in chosen]


async def run_job(
    services: Services, unit: str, job_name: str, experiment: str, body: RunJobRequest
) -> TaskAccepted:
    """Start ``job_name`` on its targets; the task's result is ``{worker: envelope}``."""
    await require_experiment(services, experiment)
    targets = {target.unit: target for target in await run_targets(services, unit, experiment)}
    return await fanout_task(
        services,
        f"run {job_name} in {experiment}",
        list(targets),
        lambda worker: run_request(job_name, experiment, body, targets[worker]),
    )


async def settings_targets(services: Services, unit: str, experiment: str) -> list[str]:
    """Workers assigned to ``experiment`` (every worker for ``$experiment``), all of them for
    ``$broadcast`` or the named one; a named unit outside that set is a 404."""
    await require_experiment(services, experiment)
    if experiment == UNIVERSAL_EXPERIMENT:
        workers = await services.targets.workers()
    else:
        workers = [w.pioreactor_unit for w in await services.assignments.workers_in(experiment)]
    chosen = await services.targets.narrow(unit, workers)
    if unit != BROADCAST and not chosen:
        raise ApiError(
            404,
            f"{unit} not in experiment {experiment}.",
            cause=f"{unit!r} is not a worker assigned to {experiment!r}.",
            remediation="GET /api/experiments/{experiment}/workers lists its workers.",
        )
    return chosen


def settings_request(job_name: str, setting: str | None = None) -> UnitRequest:
    """GET a job's published settings, or one of them (names are checked by the router)."""
    path = f"/unit_api/jobs/settings/job_name/{job_name}"
    if setting is not None:
        path += f"/setting/{setting}"
    return UnitRequest("GET", path)


async def stop_job(
    services: Services, unit: str, job_name: str, experiment: str
) -> Accepted | TaskAccepted:
    """Ask the job to disconnect over MQTT; with the broker down, ask the units over HTTP.

    Matches upstream (§3.3): the fallback is a task on the units, so its answer is the task.
    """
    topic = topics.set_job_setting(
        await services.targets.topic_unit(unit), experiment, job_name, "$state"
    )
    try:
        await services.bus.publish(topic, "disconnected", qos=1)
    except BusUnavailable as error:
        logger.warning("stopping %s over MQTT failed (%s); asking over HTTP", job_name, error.cause)
        return await fanout_task(
            services,
            f"stop {job_name} in {experiment}",
            await services.targets.expand_to_units(unit),
            UnitRequest(
                "POST",
                "/unit_api/jobs/stop",
                json={"job_name": job_name, "experiment": experiment},
            ),
        )
    return Accepted()


async def update_job(
    services: Services,
    unit: str,
    job_name: str,
    experiment: str,
    settings: dict[str, Scalar],
) -> None:
    """Publish ``<setting>/set`` for each setting; 503 if the broker is unreachable."""
    target = await services.targets.topic_unit(unit)
    # Build every topic first: a bad segment publishes nothing.
    messages = [
        (topics.set_job_setting(target, experiment, job_name, name), setting_payload(value))
        for name, value in settings.items()
    ]
    for topic, payload in messages:
        await services.bus.publish(topic, payload, qos=1)
