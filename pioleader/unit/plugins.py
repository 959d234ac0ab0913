"""A unit's plugins: what is installed, installing and removing them, and the jobs they add.

A plugin is either a Python distribution with an entry point in the ``pioreactor.plugins``
group, installed by pip into the unit's own plugin environment (``<data dir>/plugins_site``,
so that simulated units sharing one Python keep separate plugins), or a single ``.py`` file in
the unit's plugins folder (``<data dir>/plugins``). Loading a plugin imports its module; every
subclass of ``BackgroundJob`` defined there with a ``job_name`` joins the unit's job catalog, and
every subclass of ``DosingAutomationContrib``, ``TemperatureAutomationContrib`` or
``LedAutomationContrib`` with an ``automation_name`` joins that automation job, on this unit only.

Installs run pip in a subprocess (never on the event loop). Who may install what is the
``PluginPolicy``: installs can be switched off per unit (``[pioleader] allow_plugin_installs``
or a ``DISALLOW_UI_INSTALLS`` file in the data directory), and sources other than a package
name (URLs, VCS references, local paths outside the allowed folders) are refused unless
``[pioleader] allow_remote_plugin_sources`` / ``plugin_source_dirs`` say otherwise.
"""

from __future__ import annotations

import asyncio
import configparser
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pioleader.errors import ApiError
from pioleader.unit.jobs.automation import Automation, AutomationJob, Field
from pioleader.unit.jobs.base import BackgroundJob
from pioleader.unit.jobs.catalog import AUTOMATION_BASES

logger = logging.getLogger("pioleader.plugins")

ENTRY_POINT_GROUP = "pioreactor.plugins"
FLAG_FILE = "DISALLOW_UI_INSTALLS"
PLUGIN_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|(?:git|hg|svn|bzr)\+)", re.IGNORECASE)
PIP_TIMEOUT_SECONDS = 600.0


class PluginRefused(Exception):
    """The request is not allowed here; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, remediation: str) -> None:
        super().__init__(message)
        self.status = status
        self.remediation = remediation

    def as_api_error(self) -> ApiError:
        return ApiError(
            self.status, "Plugin request refused.", cause=str(self), remediation=self.remediation
        )


class PluginFailed(Exception):
    """pip (or removing files) failed; the message says how."""


def canonical(name: str) -> str:
    """PEP 503 normalisation: ``My_Plugin`` and ``my-plugin`` are the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_name(name: str) -> str:
    if not PLUGIN_NAME.match(name):
        raise PluginRefused(
            400,
            f"args[0] {name!r} is not a plugin name.",
            "Give the distribution name (letters, digits, '.', '_', '-'); put a file or URL "
            "in options.source.",
        )
    return name


def wheel_name(filename: str) -> str:
    """A wheel's distribution name: ``hello_plugin-0.1-py3-none-any.whl`` → ``hello-plugin``."""
    return filename.split("-", 1)[0].replace("_", "-")


def is_remote(source: str) -> bool:
    return bool(_REMOTE.match(source.strip())) or " @ " in source


@dataclass(frozen=True)
class PluginPolicy:
    """What a unit's configuration allows."""

    installs_allowed: bool = True
    allow_remote_sources: bool = False
    source_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_config(cls, config: configparser.ConfigParser, data_dir: Path) -> PluginPolicy:
        flag = (data_dir / FLAG_FILE).exists()
        dirs = config.get("pioleader", "plugin_source_dirs", fallback="")
        return cls(
            installs_allowed=not flag
            and config.getboolean("pioleader", "allow_plugin_installs", fallback=True),
            allow_remote_sources=config.getboolean(
                "pioleader", "allow_remote_plugin_sources", fallback=False
            ),
            source_dirs=tuple(Path(d.strip()).expanduser() for d in dirs.split(",") if d.strip()),
        )

    def require_installs(self, unit: str) -> None:
        if not self.installs_allowed:
            raise PluginRefused(
                403,
                f"Plugin installs are disabled on {unit}.",
                f"Remove {FLAG_FILE} from the unit's data directory and set [pioleader] "
                "allow_plugin_installs=true, or install from the unit's command line.",
            )

    def require_safe_source(self, source: str, allowed_dirs: tuple[Path, ...]) -> Path | None:
        """Refuse remote sources unless allowed; return a local source's resolved path, which
        must lie inside one of ``allowed_dirs`` or the configured source folders."""
        if is_remote(source):
            if self.allow_remote_sources:
                return None
            raise PluginRefused(
                403,
                f"options.source {source!r} is a remote source (URL or VCS).",
                "Install from a package name or a file in the unit's plugins folder or USB "
                "drive, or set [pioleader] allow_remote_plugin_sources=true.",
            )
        path = Path(source).expanduser()
        if not path.is_absolute():
            raise PluginRefused(
                400,
                f"options.source {source!r} is neither a URL nor an absolute path.",
                "Give the absolute path of a wheel, sdist or project folder on the unit.",
            )
        resolved = path.resolve()
        folders = [d.resolve() for d in (*allowed_dirs, *self.source_dirs)]
        if not any(resolved.is_relative_to(folder) for folder in folders):
            raise PluginRefused(
                403,
                f"options.source {source!r} is outside the folders plugins may come from.",
                "Put the file in the unit's plugins folder or USB drive, or add its folder to "
                "[pioleader] plugin_source_dirs. Allowed: " + ", ".join(map(str, folders)),
            )
        if not resolved.exists():
            raise PluginRefused(
                400, f"options.source {source!r} does not exist.", "Check the path."
            )
        return resolved


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    description: str
    homepage: str
    author: str
    source: str

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "homepage": self.homepage,
            "author": self.author,
            "source": self.source,
        }


@dataclass
class Loaded:
    plugins: list[PluginInfo] = field(default_factory=list)
    jobs: dict[str, type[BackgroundJob]] = field(default_factory=dict)
    # Automations a plugin adds, by the job that runs them.
    automations: dict[str, dict[str, type[Automation[Any]]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _jobs_in(module: ModuleType) -> list[type[BackgroundJob]]:
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, BackgroundJob)
            and value is not BackgroundJob
            and value.__module__ == module.__name__
            and isinstance(getattr(value, "job_name", None), str)
        ):
            found.append(value)
    return found


def _automations_in(module: ModuleType) -> list[tuple[str, type[Automation[Any]]]]:
    """``(job_name, automation class)`` of every plugin automation the module defines."""
    found = []
    for value in vars(module).values():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        if not isinstance(getattr(value, "automation_name", None), str):
            continue
        for job_name, base in AUTOMATION_BASES.items():
            if issubclass(value, base) and value is not base:
                found.append((job_name, value))
    return found


def _well_formed(automation: type[Automation[Any]]) -> bool:
    """What describing and running the automation relies on."""
    fields = getattr(automation, "fields", None)
    return (
        isinstance(getattr(automation, "display_name", None), str)
        and isinstance(getattr(automation, "description", None), str)
        and isinstance(fields, dict)
        and all(isinstance(k, str) and isinstance(v, Field) for k, v in fields.items())
    )


def _skip(loaded: Loaded, plugin: str, reason: str) -> None:
    logger.warning("plugin %s: %s", plugin, reason)
    loaded.errors[plugin] = reason


def _attr(module: ModuleType | None, name: str, default: str) -> str:
    value = getattr(module, name, None) if module is not None else None
    return value if isinstance(value, str) else default


class Plugins:
    """The plugins of one unit, and the job catalog they extend."""

    def __init__(self, data_dir: Path, built_in: Mapping[str, type[BackgroundJob]]) -> None:
        self.data_dir = data_dir
        self.folder = data_dir / "plugins"
        self.site = data_dir / "plugins_site"
        self._built_in = dict(built_in)
        self.loaded = Loaded()

    # -- loading (blocking: call through asyncio.to_thread) -----------------------------------

    def load(self) -> Loaded:
        """Import every plugin afresh and collect what it adds."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.site.mkdir(parents=True, exist_ok=True)
        importlib.invalidate_caches()
        loaded = Loaded()
        for path in sorted(self.folder.glob("*.py")):
            self._load_file(path, loaded)
        for dist in self._distributions():
            self._load_distribution(dist, loaded)
        self.loaded = loaded
        return loaded

    def catalog(self) -> dict[str, type[BackgroundJob]]:
        return {**self.loaded.jobs, **self._built_in, **self._extended_automation_jobs()}

    def _extended_automation_jobs(self) -> dict[str, type[BackgroundJob]]:
        """Each automation job with plugin automations, as a subclass private to this unit
        (units hosted in one process must not see each other's plugins)."""
        extended: dict[str, type[BackgroundJob]] = {}
        for job_name, added in self.loaded.automations.items():
            job = self._built_in[job_name]
            assert issubclass(job, AutomationJob)
            extended[job_name] = type(
                job.__name__,
                (job,),
                {
                    "__module__": job.__module__,
                    "__doc__": job.__doc__,
                    "automation_classes": (*job.automation_classes, *added.values()),
                },
            )
        return extended

    def _add_jobs(self, plugin: str, module: ModuleType, loaded: Loaded) -> None:
        for job in _jobs_in(module):
            if job.job_name in self._built_in or job.job_name in loaded.jobs:
                _skip(loaded, plugin, f"job {job.job_name!r} is already defined; skipped")
                continue
            loaded.jobs[job.job_name] = job
        for job_name, automation in _automations_in(module):
            runner = self._built_in.get(job_name)
            added = loaded.automations.get(job_name, {})
            name = automation.automation_name
            if not isinstance(runner, type) or not issubclass(runner, AutomationJob):
                _skip(loaded, plugin, f"{job_name} does not run on this unit; skipped")
            elif not _well_formed(automation):
                _skip(
                    loaded,
                    plugin,
                    f"{job_name} {name!r} needs string display_name and description and a "
                    "dict of Field as fields; skipped",
                )
            elif name in runner.automations or name in added:
                _skip(loaded, plugin, f"{job_name} {name!r} is already defined; skipped")
            else:
                loaded.automations[job_name] = {**added, name: automation}

    def _load_file(self, path: Path, loaded: Loaded) -> None:
        module_name = f"_pioleader_plugin_file_{abs(hash(path))}_{path.stem}"
        module: ModuleType | None = None
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path.name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            self._add_jobs(path.stem, module, loaded)
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the unit
            logger.warning("plugin file %s failed to load: %s", path, error)
            loaded.errors[path.stem] = f"{type(error).__name__}: {error}"
            module = None
        loaded.plugins.append(
            PluginInfo(
                name=_attr(module, "__plugin_name__", path.stem),
                version=_attr(module, "__plugin_version__", "0.0.0"),
                description=_attr(module, "__plugin_summary__", ""),
                homepage=_attr(module, "__plugin_homepage__", ""),
                author=_attr(module, "__plugin_author__", ""),
                source=f"plugins/{path.name}",
            )
        )

    def _distributions(self) -> list[importlib.metadata.Distribution]:
        found = [
            dist
            for dist in importlib.metadata.distributions(path=[str(self.site)])
            if any(ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points)
        ]
        return sorted(found, key=lambda d: canonical(d.metadata["Name"] or ""))

    def _load_distribution(self, dist: importlib.metadata.Distribution, loaded: Loaded) -> None:
        name = dist.metadata["Name"] or "?"
        # This unit's plugin environment first (in-process tests host several units).
        if str(self.site) in sys.path:
            sys.path.remove(str(self.site))
        sys.path.insert(0, str(self.site))
        for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            top = entry_point.module.split(".")[0]
            for cached in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                del sys.modules[cached]  # import the installed version, not a stale one
            try:
                self._add_jobs(name, importlib.import_module(entry_point.module), loaded)
            except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the unit
                logger.warning("plugin %s failed to load: %s", name, error)
                loaded.errors[name] = f"{type(error).__name__}: {error}"
        meta = dist.metadata
        loaded.plugins.append(
            PluginInfo(
                name=name,
                version=dist.version,
                description=meta["Summary"] or "",
                homepage=meta["Home-page"] or _project_url(meta.get_all("Project-URL") or []),
                author=meta["Author"] or meta["Author-email"] or "",
                source="pip",
            )
        )

    # -- installing and removing ----------------------------------------------------------------

    def find(self, name: str) -> PluginInfo | None:
        wanted = canonical(name)
        return next((p for p in self.loaded.plugins if canonical(p.name) == wanted), None)

    async def install(self, name: str, source: Path | str | None) -> PluginInfo:
        """pip-install ``source`` (or ``name`` from the package index) into the unit's plugin
        environment, reload, and return the plugin; PluginFailed if pip fails or the result
        is not a plugin called ``name``."""
        await asyncio.to_thread(self.site.mkdir, parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--upgrade",
            "--target",
            str(self.site),
        ]
        if isinstance(source, Path):
            # A local file needs no index: never reach out to the network for it.
            command += ["--no-index", "--find-links", str(source.parent), str(source)]
        else:
            command.append(source or name)
        await _run(command)
        await asyncio.to_thread(self.load)
        plugin = self.find(name)
        if plugin is None:
            raise PluginFailed(
                f"pip installed {source or name}, but it is not a plugin named {name!r} "
                f"(no {ENTRY_POINT_GROUP} entry point)."
            )
        return plugin

    async def uninstall(self, name: str) -> PluginInfo:
        plugin = self.find(name)
        if plugin is None:
            raise PluginFailed(f"{name} is not installed.")
        await asyncio.to_thread(self._remove, plugin)
        await asyncio.to_thread(self.load)
        return plugin

    def _remove(self, plugin: PluginInfo) -> None:
        if plugin.source.startswith("plugins/"):
            (self.data_dir / plugin.source).unlink(missing_ok=True)
            return
        # pip cannot uninstall from a --target folder; remove what the wheel's RECORD lists.
        dist = next(
            d
            for d in importlib.metadata.distributions(path=[str(self.site)])
            if canonical(d.metadata["Name"] or "") == canonical(plugin.name)
        )
        site = self.site.resolve()
        touched: set[Path] = set()
        for file in dist.files or []:
            path = (site / file).resolve()
            if not path.is_relative_to(site) or path == site:
                continue  # a RECORD naming files elsewhere is not followed
            path.unlink(missing_ok=True)
            touched.add(path.parent)
        for folder in sorted(touched, key=lambda p: len(p.parts), reverse=True):
            while folder != site and folder.is_relative_to(site):
                if folder.name == "__pycache__" or folder.name.endswith(".dist-info"):
                    shutil.rmtree(folder, ignore_errors=True)
                elif folder.exists() and not any(folder.iterdir()):
                    folder.rmdir()
                else:
                    break
                folder = folder.parent


def _project_url(urls: list[str]) -> str:
    for entry in urls:
        _, _, url = entry.partition(",")
        if url.strip():
            return url.strip()
    return ""


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def _run(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(PIP_TIMEOUT_SECONDS):
            output, _ = await process.communicate()
    except TimeoutError as error:
        await _kill(process)
        raise PluginFailed(f"pip did not finish within {PIP_TIMEOUT_SECONDS:g} s.") from error
    except asyncio.CancelledError:
        await asyncio.shield(_kill(process))  # the unit is stopping: leave no pip behind
        raise
    if process.returncode != 0:
        tail = output.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise PluginFailed(f"pip exited with {process.returncode}: " + " | ".join(tail))


def info_json(plugins: list[PluginInfo]) -> list[dict[str, Any]]:
    return [p.as_json() for p in plugins]
