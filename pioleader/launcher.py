"""Starting simulated workers from the running leader (POST /api/workers/setup).

Only when ``[pioleader] launch_simulated_workers`` is true, which ``pioleader up`` sets: the
leader then starts ``pioleader worker`` for a new unit as ``pioleader up`` does, on a free
port, with its own data directory under ``<data dir>/units``, announced over mDNS. The
processes are the leader's children: they stop with it (``close``), and with ``pioleader up``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Protocol

from pioleader.net import free_port
from pioleader.settings import LeaderSettings
from pioleader.up import prepare_unit_dir, worker_arguments

logger = logging.getLogger("pioleader.launcher")

START_TIMEOUT_SECONDS = 30.0


class LaunchFailed(Exception):
    """The worker process did not start serving; the message says why."""


class Launcher(Protocol):
    async def launch(self, name: str, model: tuple[str, str]) -> int: ...

    async def stop(self, name: str) -> None: ...

    async def close(self) -> None: ...


class WorkerLauncher:
    def __init__(self, settings: LeaderSettings, speedup: float | None = None) -> None:
        self._settings = settings
        self._speedup = speedup
        self._processes: dict[str, asyncio.subprocess.Process] = {}

    async def launch(self, name: str, model: tuple[str, str]) -> int:
        """Start the worker and wait until it listens; return its port."""
        port = free_port()
        unit_dir = await asyncio.to_thread(prepare_unit_dir, self._settings, name)
        log_path = self._settings.data_dir / "logs" / f"{name}.log"
        await asyncio.to_thread(log_path.parent.mkdir, parents=True, exist_ok=True)
        log = await asyncio.to_thread(log_path.open, "ab")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "pioleader",
                *worker_arguments(name, port, unit_dir, self._speedup, model=model),
                "--log-level",
                "warning",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        self._processes[name] = process
        await self._wait_serving(name, process, port, log_path)
        return port

    async def _wait_serving(
        self, name: str, process: asyncio.subprocess.Process, port: int, log: Path
    ) -> None:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                raise LaunchFailed(f"{name} exited with code {process.returncode}; see {log}.")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.1)
        await self.stop(name)
        raise LaunchFailed(
            f"{name} did not listen on port {port} within {START_TIMEOUT_SECONDS:g} s."
        )

    async def stop(self, name: str) -> None:
        process = self._processes.pop(name, None)
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        for name in list(self._processes):
            await self.stop(name)
