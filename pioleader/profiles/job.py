"""The ``experiment_profile`` job of the leader: ``execute <file> <experiment>``.

Started like any job, through the leader's ``/unit_api/jobs/run/job_name/experiment_profile``
with ``args: ["execute", "<file>", "<experiment>"]``; it reads and checks the profile, records
the run (``…/experiment_profiles/recent``), publishes its name, file and start time as settings
(``…/experiment_profiles/running``), runs the actions, and ends when they are done or when it is
stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pioleader.clock import format_timestamp
from pioleader.profiles.execution import Cluster, Execution
from pioleader.profiles.files import ProfileFiles, ProfileNotFound
from pioleader.profiles.schema import Profile
from pioleader.profiles.validate import ProfileInvalid, load_profile
from pioleader.unit.jobs.base import BackgroundJob, JobRefused, Option, Setting

JOB_NAME = "experiment_profile"


@dataclass(frozen=True)
class ProfileRuntime:
    """What the job needs from the leader, given at start-up."""

    files: ProfileFiles
    cluster: Cluster
    catalog: Mapping[str, type[BackgroundJob]]
    workers: Callable[[], Awaitable[Collection[str]]]
    # Record a run; False if the experiment does not exist.
    record_run: Callable[[str, str, datetime], Awaitable[bool]]


async def _load(runtime: ProfileRuntime, args: list[str], experiment: str) -> tuple[str, Profile]:
    """The file name and checked profile of ``execute <file> <experiment>``; JobRefused if
    the arguments, the file or the profile are wrong."""
    if len(args) != 3 or args[0] != "execute":
        raise JobRefused(f'args must be ["execute", "<file>", "<experiment>"], not {args!r}')
    _, filename, named = args
    if named != experiment:
        raise JobRefused(f"The experiment in args ({named}) is not env EXPERIMENT ({experiment}).")
    try:
        text = await runtime.files.read(filename)
        profile, _ = load_profile(text, catalog=runtime.catalog, workers=await runtime.workers())
    except ValueError as error:  # a bad file name
        raise JobRefused(f"profile file {filename!r} {error}.") from error
    except ProfileNotFound as error:
        raise JobRefused(f"No profile {filename!r}: see GET /api/experiment_profiles.") from error
    except ProfileInvalid as error:
        raise JobRefused(f"The profile {filename} is invalid: {error}") from error
    return filename, profile


def experiment_profile_job(runtime: ProfileRuntime) -> type[BackgroundJob]:
    """The job class, bound to this leader's runtime."""

    class ExperimentProfile(BackgroundJob):
        job_name = JOB_NAME
        help = "Run an experiment profile: execute <file> <experiment>."
        published_settings: ClassVar[dict[str, Setting]] = {
            "experiment_profile_name": Setting("string"),
            "profile_filename": Setting("string"),
            "start_time_utc": Setting("string"),
        }
        options: ClassVar[dict[str, Option]] = {
            "speedup": Option(
                "float", "Run profile time this many times faster (demos and tests).", 1.0
            ),
        }

        async def on_init(self) -> None:
            experiment = self.context.experiment
            speedup = self.option("speedup")
            self.speedup = 1.0 if speedup is None else float(speedup)
            if not 0 < self.speedup <= 1e7:
                raise JobRefused("speedup must be above 0 (and at most 10000000).")
            filename, self.profile = await _load(runtime, list(self.context.args), experiment)
            name = self.profile.experiment_profile_name
            now = self.context.clock.now()
            if not await runtime.record_run(name, experiment, now):
                raise JobRefused(f"No experiment {experiment!r}: create it first.")
            await self.publish_setting("experiment_profile_name", name)
            await self.publish_setting("profile_filename", filename)
            await self.publish_setting("start_time_utc", format_timestamp(now))

        async def main(self) -> None:
            name = self.profile.experiment_profile_name
            await self.log("notice", f"Starting profile {name!r}.")
            await Execution(
                profile=self.profile,
                experiment=self.context.experiment,
                cluster=runtime.cluster,
                log=self.log,
                wait=self.pause,
                speedup=self.speedup,
            ).run()
            if await self.pause(0):
                await self.log("notice", f"Profile {name!r} finished.")
            else:
                await self.log("notice", f"Profile {name!r} was stopped.")

    return ExperimentProfile
