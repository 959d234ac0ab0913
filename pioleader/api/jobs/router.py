"""Endpoints for job control; each exists under /api/units/... and /api/workers/... unless noted.

POST|PATCH {prefix}/{pioreactor_unit}/jobs/run/job_name/{job_name}/experiments/{experiment},
GET {prefix}/{pioreactor_unit}/jobs/running,
POST|PATCH {prefix}/{pioreactor_unit}/jobs/stop/experiments/{experiment},
POST|PATCH {prefix}/{pioreactor_unit}/jobs/stop/job_name/{job_name}/experiments/{experiment},
PATCH {prefix}/{pioreactor_unit}/jobs/update/job_name/{job_name}/experiments/{experiment},
GET /api/workers/{pioreactor_unit}/jobs/settings/job_name/{job_name}/experiments/{experiment},
GET /api/workers/{pioreactor_unit}/jobs/settings/job_name/{job_name}/setting/{setting}/
experiments/{experiment}.

Starting jobs and reading their state goes to units over HTTP (202 tasks); stopping one job and
changing its settings goes to the job over MQTT (202 without a task). ``$broadcast`` expands as
Appendix A says, through ``services.targets``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from pioleader.api.dispatch import fanout_task, fire_and_forget, stop_jobs_of_experiment
from pioleader.api.jobs import service
from pioleader.api.jobs.models import (
    JOB_NAME_MAX_LENGTH,
    JOB_NAME_PATTERN,
    SETTING_MAX_LENGTH,
    SETTING_PATTERN,
    Accepted,
    RunJobRequest,
    StopRequested,
    UpdateJobRequest,
)
from pioleader.cluster import UnitRequest
from pioleader.deps import ServicesDep
from pioleader.errors import error_responses
from pioleader.tasks import TaskAccepted

router = APIRouter(tags=["jobs"])

UnitPath = Annotated[str, Path(description="Unit name, or `$broadcast` for every target.")]
ExperimentPath = Annotated[
    str, Path(description="Experiment name, or `$experiment` for cluster-level jobs.")
]
JobNamePath = Annotated[
    str,
    Path(
        description="Job name: lowercase letters, digits and '_', e.g. stirring.",
        pattern=JOB_NAME_PATTERN,
        max_length=JOB_NAME_MAX_LENGTH,
    ),
]
SettingPath = Annotated[
    str,
    Path(
        description="Published setting of the job, e.g. target_rpm or $state.",
        pattern=SETTING_PATTERN,
        max_length=SETTING_MAX_LENGTH,
    ),
]

RUN = "/{pioreactor_unit}/jobs/run/job_name/{job_name}/experiments/{experiment}"
RUNNING = "/{pioreactor_unit}/jobs/running"
STOP_EXPERIMENT = "/{pioreactor_unit}/jobs/stop/experiments/{experiment}"
STOP_JOB = "/{pioreactor_unit}/jobs/stop/job_name/{job_name}/experiments/{experiment}"
UPDATE = "/{pioreactor_unit}/jobs/update/job_name/{job_name}/experiments/{experiment}"
SETTINGS = "/api/workers/{pioreactor_unit}/jobs/settings/job_name/{job_name}"


@router.post(
    "/api/units" + RUN,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
@router.patch(
    "/api/units" + RUN,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
@router.post(
    "/api/workers" + RUN,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
@router.patch(
    "/api/workers" + RUN,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def run_job_on_unit_in_experiment(
    pioreactor_unit: UnitPath,
    job_name: JobNamePath,
    experiment: ExperimentPath,
    body: RunJobRequest,
    services: ServicesDep,
) -> TaskAccepted:
    """Start a job on the active workers assigned to the experiment (a task).

    `$broadcast` reaches every active worker assigned to the experiment; with `$experiment`,
    every active worker. Each worker's environment gets EXPERIMENT, ACTIVE and, when known,
    MODEL_NAME and MODEL_VERSION. 404 if the experiment does not exist or no worker matches.
    """
    return await service.run_job(services, pioreactor_unit, job_name, experiment, body)


@router.get(
    "/api/units" + RUNNING,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
@router.get(
    "/api/workers" + RUNNING,
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(),
)
async def get_jobs_running(pioreactor_unit: UnitPath, services: ServicesDep) -> TaskAccepted:
    """The running jobs of a unit, or of every unit for `$broadcast` (a task)."""
    return await fanout_task(
        services,
        "list running jobs",
        await services.targets.expand_to_units(pioreactor_unit),
        UnitRequest("GET", "/unit_api/jobs/running"),
    )


@router.post(
    "/api/units" + STOP_EXPERIMENT,
    status_code=202,
    response_model=StopRequested,
    responses=error_responses(),
)
@router.patch(
    "/api/units" + STOP_EXPERIMENT,
    status_code=202,
    response_model=StopRequested,
    responses=error_responses(),
)
@router.post(
    "/api/workers" + STOP_EXPERIMENT,
    status_code=202,
    response_model=StopRequested,
    responses=error_responses(),
)
@router.patch(
    "/api/workers" + STOP_EXPERIMENT,
    status_code=202,
    response_model=StopRequested,
    responses=error_responses(),
)
async def stop_all_jobs_on_unit_for_experiment(
    pioreactor_unit: UnitPath, experiment: ExperimentPath, services: ServicesDep
) -> StopRequested:
    """Ask a unit (every unit for `$broadcast`) to stop its jobs of the experiment.

    Matches upstream (§3.3): the request is sent without waiting, and there is no task.
    """
    fire_and_forget(
        services,
        f"stop jobs of {experiment}",
        await services.targets.expand_to_units(pioreactor_unit),
        stop_jobs_of_experiment(experiment),
    )
    return StopRequested()


@router.post(
    "/api/units" + STOP_JOB,
    status_code=202,
    response_model=Accepted | TaskAccepted,
    responses=error_responses(),
)
@router.patch(
    "/api/units" + STOP_JOB,
    status_code=202,
    response_model=Accepted | TaskAccepted,
    responses=error_responses(),
)
@router.post(
    "/api/workers" + STOP_JOB,
    status_code=202,
    response_model=Accepted | TaskAccepted,
    responses=error_responses(),
)
@router.patch(
    "/api/workers" + STOP_JOB,
    status_code=202,
    response_model=Accepted | TaskAccepted,
    responses=error_responses(),
)
async def stop_specific_job_on_unit(
    pioreactor_unit: UnitPath,
    job_name: JobNamePath,
    experiment: ExperimentPath,
    services: ServicesDep,
) -> Accepted | TaskAccepted:
    """Stop one job on a unit (on every unit for `$broadcast`).

    Publishes `$state/set` = `disconnected` to the job and answers `{"status": "accepted"}`.
    If the MQTT broker is unreachable, the units are asked over HTTP instead and the answer is
    that task.
    """
    return await service.stop_job(services, pioreactor_unit, job_name, experiment)


@router.patch(
    "/api/units" + UPDATE, status_code=202, response_model=Accepted, responses=error_responses(503)
)
@router.patch(
    "/api/workers" + UPDATE,
    status_code=202,
    response_model=Accepted,
    responses=error_responses(503),
)
async def update_job_on_unit(
    pioreactor_unit: UnitPath,
    job_name: JobNamePath,
    experiment: ExperimentPath,
    body: UpdateJobRequest,
    services: ServicesDep,
) -> Accepted:
    """Change settings of a running job on a unit (on every unit for `$broadcast`).

    Publishes each setting to `.../<setting>/set`: strings as they are, other values as JSON.
    503 if the MQTT broker is unreachable.
    """
    await service.update_job(services, pioreactor_unit, job_name, experiment, body.settings)
    return Accepted()


@router.get(
    SETTINGS + "/experiments/{experiment}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def get_job_settings_for_worker(
    pioreactor_unit: UnitPath,
    job_name: JobNamePath,
    experiment: ExperimentPath,
    services: ServicesDep,
) -> TaskAccepted:
    """The published settings of a running job on the experiment's workers (a task).

    `$broadcast` reaches every worker assigned to the experiment (every worker for
    `$experiment`); a named worker must be one of them (404).
    """
    return await fanout_task(
        services,
        f"settings of {job_name}",
        await service.settings_targets(services, pioreactor_unit, experiment),
        service.settings_request(job_name),
    )


@router.get(
    SETTINGS + "/setting/{setting}/experiments/{experiment}",
    status_code=202,
    response_model=TaskAccepted,
    responses=error_responses(404),
)
async def get_job_setting_for_worker(
    pioreactor_unit: UnitPath,
    job_name: JobNamePath,
    setting: SettingPath,
    experiment: ExperimentPath,
    services: ServicesDep,
) -> TaskAccepted:
    """One published setting of a running job on the experiment's workers (a task).

    Targets as for all settings of the job.
    """
    return await fanout_task(
        services,
        f"setting {setting} of {job_name}",
        await service.settings_targets(services, pioreactor_unit, experiment),
        service.settings_request(job_name, setting),
    )
