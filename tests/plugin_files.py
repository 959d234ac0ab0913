"""Plugins made by tests: a wheel built from nothing but ``zipfile``, and a single-file plugin.

Both define a job, ``greeting`` (or the name given), that publishes one setting and waits to be
stopped, so that a test can install the plugin and then run its job through the API.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def job_module(job_name: str, version: str) -> str:
    return f'''
from typing import ClassVar

from pioleader.unit.jobs.base import BackgroundJob, Setting

__plugin_version__ = "{version}"
__plugin_summary__ = "Says hello."
__plugin_author__ = "Test Lab"


class Greeting(BackgroundJob):
    job_name = "{job_name}"
    help = "Publishes a greeting."
    published_settings: ClassVar[dict[str, Setting]] = {{"greeting": Setting("string")}}

    async def on_init(self) -> None:
        await self.publish_setting("greeting", "hello from {version}")
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(
    folder: Path,
    name: str = "hello-plugin",
    version: str = "0.1.0",
    job_name: str = "greeting",
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A pure-Python wheel with a ``pioreactor.plugins`` entry point, ready for pip; ``extra``
    adds files inside the package (path relative to it)."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": job_module(job_name, version).encode(),
        **{f"{module}/{path}": data for path, data in (extra or {}).items()},
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            "Summary: A plugin built by a test.\nAuthor: Test Lab\n"
            "Home-page: https://example.org/hello\n"
        ).encode(),
        f"{info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": f"[pioreactor.plugins]\n{module} = {module}\n".encode(),
        f"{info}/top_level.txt": f"{module}\n".encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def write_file_plugin(plugins_folder: Path, stem: str, job_name: str) -> Path:
    plugins_folder.mkdir(parents=True, exist_ok=True)
    path = plugins_folder / f"{stem}.py"
    path.write_text(job_module(job_name, "1.2.3"))
    return path


AUTOMATION_MODULE = """
from typing import ClassVar

from pioleader.unit.jobs.automation import Event, Field
from pioleader.unit.jobs.led import LedAutomationContrib

__plugin_version__ = "0.2.0"


class Beacon(LedAutomationContrib):
    automation_name = "beacon"
    display_name = "Beacon"
    description = "Reports its brightness every run."
    fields: ClassVar[dict[str, Field]] = {
        "brightness": Field("float", 5.0, "How bright.", "Brightness", "%", 0.0, 100.0),
    }

    def period_seconds(self) -> float:
        return 60.0

    async def execute(self) -> Event:
        return Event("Beaconed", f"brightness {self.setting('brightness')}")


class Shadow(LedAutomationContrib):
    automation_name = "silent"  # a built-in name: refused, the built-in stays
    display_name = "Shadow"
    description = "Never runs."


class Sketch(LedAutomationContrib):
    automation_name = "sketch"  # no display_name nor description: refused
"""


def write_automation_plugin(plugins_folder: Path, stem: str = "beacon") -> Path:
    """A single-file plugin adding the LED automation ``beacon`` (and a clashing ``silent``, and
    an incomplete ``sketch``, both refused)."""
    plugins_folder.mkdir(parents=True, exist_ok=True)
    path = plugins_folder / f"{stem}.py"
    path.write_text(AUTOMATION_MODULE)
    return path
