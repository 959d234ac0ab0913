"""Getting a build of the official web UI: the ``pioreactor`` wheel from PyPI ships it in
``pioreactor/web/static``. Downloaded once, unpacked under ``.cache/ui`` of the repository.

``python -m tests.e2e.ui_build`` fetches it (``make ui-test-deps`` does); the end-to-end test's
fixture calls the same function and skips, saying why, when it cannot.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "ui"
STATIC = "pioreactor/web/static/"


class NoUiBuild(Exception):
    pass


def _unpack(wheel: Path) -> Path:
    """The wheel's web UI, unpacked once beside it (``<wheel stem>/index.html``)."""
    target = wheel.with_suffix("")
    if (target / "index.html").is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith(STATIC)]
        if not members:
            raise NoUiBuild(f"{wheel.name} has no {STATIC}")
        for name in members:
            relative = name[len(STATIC) :]
            if not relative or name.endswith("/"):
                continue
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(name))
    partial.rename(target)
    return target


def ui_build(cache: Path = CACHE) -> Path:
    """The newest cached UI build, downloading the wheel if none is cached."""
    wheels = sorted(cache.glob("pioreactor-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", "pioreactor", "--no-deps", "-d", str(cache)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wheels = sorted(cache.glob("pioreactor-*.whl"))
        if download.returncode != 0 or not wheels:
            raise NoUiBuild(f"pip download pioreactor failed: {download.stderr.strip()[-300:]}")
    return _unpack(max(wheels, key=lambda wheel: wheel.stat().st_mtime))


if __name__ == "__main__":
    print(ui_build())  # noqa: T201
