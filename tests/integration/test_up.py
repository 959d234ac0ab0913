"""``pioleader up`` as a user runs it: it starts everything, refuses a second copy, and leaves
no process behind when stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pioleader.net import free_port, wait_for_port

pytestmark = pytest.mark.integration


def children_of(pid: int) -> list[int]:
    """Every process whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def role_of(pid: int) -> str:
    """``mosquitto``, or the pioleader command a child runs (``leader``, ``worker``, …)."""
    argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode().split("\0")
    if "pioleader" in argv:
        return argv[argv.index("pioleader") + 1]
    return Path(argv[0]).name


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def demo_jobs(port: int, unit: str) -> list[str]:
    """The jobs running on ``unit``, once the five demo jobs have started (or after 60 s)."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    names: list[str] = []
    while len(names) < 5 and time.monotonic() < deadline:
        accepted = httpx.get(f"{base}/api/workers/{unit}/jobs/running").json()
        result = httpx.get(base + accepted["result_url_path"]).json()
        if result["status"] == "succeeded":
            names = [job["job_name"] for job in result["result"][unit]["value"]]
        time.sleep(0.2)
    return names


def test_up_runs_refuses_a_second_copy_and_stops_cleanly(tmp_path: Path) -> None:
    """It should serve a registered cluster with the demo jobs running, refuse a second `up`,
    and stop every process."""
    port = free_port()
    data = tmp_path / "data"
    command = [sys.executable, "-m", "pioleader", "up", "--data-dir", str(data), "--workers", "2"]
    up = subprocess.Popen(
        [
            *command,
            "--port",
            str(port),
            "--mqtt-port",
            str(free_port()),
            "--mqtt-ws-port",
            str(free_port()),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            workers = httpx.get(f"http://127.0.0.1:{port}/api/experiments/demo/workers").json()
            if len(workers) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [w["pioreactor_unit"] for w in workers] == ["pio01", "pio02"]
        assert sorted(demo_jobs(port, "pio02")) == [
            "growth_rate_calculating",
            "monitor",
            "od_reading",
            "stirring",
            "temperature_automation",
        ]
        started = children_of(up.pid)
        roles = sorted(role_of(pid) for pid in started)
        assert roles == ["ingester", "leader", "mosquitto", "worker", "worker"]

        second = subprocess.run(
            [*command, "--port", str(free_port())], capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert "already running" in second.stderr

        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
        assert up.returncode == 0
        assert [pid for pid in started if alive(pid)] == []
        assert not (data / "up.pid").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
