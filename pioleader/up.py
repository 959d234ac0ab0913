"""``pioleader up``: the whole simulated cluster on one machine.

Starts mosquitto with our own configuration (TCP and websockets listeners), the MQTT ingester,
the leader, and N workers ``pio01…pioNN`` on their own ports; records their addresses in
``[cluster.addresses]``; registers them; creates a ``demo`` experiment with the workers in it;
and on Ctrl-C stops every process it started. Killing a worker is a real outage: the leader and
the other workers go on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pioleader.broker import Mosquitto
from pioleader.net import free_port, port_is_free, wait_for_port
from pioleader.settings import CommandLineOverrides, LeaderSettings, load_leader_settings
from pioleader.webui import check_ui_dir

DEMO_EXPERIMENT = "demo"
# Started on every worker of the demo experiment, so that cultures are seen growing at once.
DEMO_JOBS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("monitor", "$experiment", {}),
    ("stirring", DEMO_EXPERIMENT, {}),
    ("od_reading", DEMO_EXPERIMENT, {}),
    (
        "temperature_automation",
        DEMO_EXPERIMENT,
        {"automation_name": "thermostat", "target_temperature": 32},
    ),
    ("growth_rate_calculating", DEMO_EXPERIMENT, {}),
)


class AlreadyRunning(Exception):
    pass


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    announced_exit: bool = False


@dataclass
class SimulatedCluster:
    data_dir: Path
    workers: int = 3
    port: int | None = None
    mqtt_port: int | None = None
    mqtt_ws_port: int | None = None
    speedup: float | None = None
    log_level: str = "info"
    # A web UI build for the leader to serve; None: as [pioleader] ui_dir says.
    ui_dir: Path | None = None
    start_jobs: bool = False
    processes: list[Process] = field(default_factory=list)
    broker: Mosquitto | None = None
    worker_ports: dict[str, int] = field(default_factory=dict)
    leader_port: int = 0

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "up.pid"

    def worker_names(self) -> list[str]:
        return [f"pio{index:02d}" for index in range(1, self.workers + 1)]

    def start(self) -> LeaderSettings:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = load_leader_settings(
            self.data_dir, CommandLineOverrides(port=self.port, ui_dir=self.ui_dir)
        )
        if settings.ui_dir is not None:
            # Refuse at once, before anything is started, rather than in the leader's log.
            check_ui_dir(settings.ui_dir)
        self._take_lock()
        self.leader_port = settings.port
        if not port_is_free(settings.port):
            raise AlreadyRunning(
                f"Port {settings.port} is already in use: is a pioleader already running? "
                "Stop it, or choose another port (make run PORT=…)."
            )
        mqtt_port = self.mqtt_port or _free_or_other(settings.mqtt.port)
        ws_port = self.mqtt_ws_port or _free_or_other(settings.mqtt.ws_port)
        self.worker_ports = {name: free_port() for name in self.worker_names()}
        # The UI finds the broker, and the leader its workers, through the shared config.
        settings.config_files.set_shared_values(
            {
                ("ui", "port"): str(settings.port),
                # POST /api/workers/setup may start more simulated workers, like these.
                ("pioleader", "launch_simulated_workers"): "true",
                # Empty: the workers it starts read [simulation] speedup themselves.
                ("pioleader", "simulated_worker_speedup"): (
                    "" if self.speedup is None else str(self.speedup)
                ),
                ("mqtt", "broker_port"): str(mqtt_port),
                ("mqtt", "broker_ws_port"): str(ws_port),
                **{
                    ("cluster.addresses", name): f"127.0.0.1:{port}"
                    for name, port in self.worker_ports.items()
                },
            }
        )
        self.broker = Mosquitto(
            self.data_dir / "mosquitto",
            port=mqtt_port,
            ws_port=ws_port,
            username=settings.mqtt.username,
            password=settings.mqtt.password,
        )
        self.broker.start()
        # The ingester first, so that the workers' first readings are stored.
        self._spawn("ingester", ["ingester", "--data-dir", str(self.data_dir)])
        ui = [] if settings.ui_dir is None else ["--ui-dir", str(settings.ui_dir)]
        self._spawn("leader", ["leader", "--data-dir", str(self.data_dir), *ui])
        for name, port in self.worker_ports.items():
            unit_dir = prepare_unit_dir(settings, name)
            self._spawn(name, worker_arguments(name, port, unit_dir, self.speedup))
        wait_for_port(settings.port, timeout=30)
        for port in self.worker_ports.values():
            wait_for_port(port, timeout=30)
        self._register(settings)
        return settings

    def watch(self) -> int:
        """Wait until the leader exits (or Ctrl-C); report workers that stop."""
        while True:
            for process in self.processes:
                code = process.popen.poll()
                if code is None or process.announced_exit:
                    continue
                process.announced_exit = True
                if process.name == "leader":
                    print(f"The leader exited with code {code}.", file=sys.stderr)
                    return code or 1
                print(f"{process.name} stopped (exit code {code}).", file=sys.stderr)
            time.sleep(0.5)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        if self.broker is not None:
            self.broker.stop()
        with contextlib.suppress(FileNotFoundError):
            if self.lock_path.read_text().strip() == str(os.getpid()):
                self.lock_path.unlink()

    # -- internals -----------------------------------------------------------------------------

    def _take_lock(self) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(self.lock_path.read_text().strip())
            if pid != os.getpid() and _alive(pid):
                raise AlreadyRunning(
                    f"pioleader up is already running for {self.data_dir} (pid {pid}). "
                    "Stop it with Ctrl-C in its terminal, or use another --data-dir."
                )
        self.lock_path.write_text(str(os.getpid()))

    def _spawn(self, name: str, arguments: list[str]) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        log = (logs / f"{name}.log").open("ab")
        popen = subprocess.Popen(
            [sys.executable, "-m", "pioleader", *arguments, "--log-level", self.log_level],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.processes.append(Process(name, popen))

    def _register(self, settings: LeaderSettings) -> None:
        base = f"http://127.0.0.1:{settings.port}"
        with httpx.Client(
            base_url=base, timeout=10, headers=settings.safety.auth_headers()
        ) as client:
            for name in self.worker_ports:
                client.put(
                    "/api/workers",
                    json={
                        "pioreactor_unit": name,
                        "model_name": "pioreactor_40ml",
                        "model_version": "1.5",
                    },
                ).raise_for_status()
            if client.get(f"/api/experiments/{DEMO_EXPERIMENT}").status_code == 404:
                client.post(
                    "/api/experiments",
                    json={"experiment": DEMO_EXPERIMENT, "description": "The simulated cluster."},
                ).raise_for_status()
            for name in self.worker_ports:
                current = client.get(f"/api/workers/{name}/experiment")
                if current.status_code == 404:
                    client.put(
                        f"/api/experiments/{DEMO_EXPERIMENT}/workers",
                        json={"pioreactor_unit": name},
                    ).raise_for_status()
            if self.start_jobs:
                for job_name, experiment, options in DEMO_JOBS:
                    client.post(
                        f"/api/workers/$broadcast/jobs/run/job_name/{job_name}"
                        f"/experiments/{experiment}",
                        json={"options": options},
                    ).raise_for_status()


def prepare_unit_dir(settings: LeaderSettings, name: str) -> Path:
    """A simulated worker's data directory, with the leader's shared config.ini in it."""
    unit_dir = settings.data_dir / "units" / name
    unit_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.config_files.shared_path, unit_dir / "config.ini")
    return unit_dir


def worker_arguments(
    name: str,
    port: int,
    unit_dir: Path,
    speedup: float | None,
    *,
    model: tuple[str, str] = ("pioreactor_40ml", "1.5"),
    announce: bool = True,
) -> list[str]:
    """``pioleader worker …`` for a simulated worker (announced over mDNS by default)."""
    arguments = ["worker", "--name", name, "--port", str(port), "--data-dir", str(unit_dir)]
    arguments += ["--model-name", model[0], "--model-version", model[1]]
    if speedup is not None:  # otherwise the worker reads [simulation] speedup
        arguments += ["--speedup", str(speedup)]
    return arguments + (["--announce"] if announce else [])


def _free_or_other(port: int) -> int:
    return port if port_is_free(port) else free_port()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def announce(settings: LeaderSettings, cluster: SimulatedCluster) -> None:
    base = f"http://127.0.0.1:{settings.port}"
    units = "\n".join(
        f"  {name:<10}  http://127.0.0.1:{port}/unit_api"
        for name, port in cluster.worker_ports.items()
    )
    broker = cluster.broker
    assert broker is not None
    ui = f"  Web UI      {base}/\n" if settings.ui_dir is not None else ""
    print(
        f"""
pioleader is up: a leader, {len(cluster.worker_ports)} simulated workers and mosquitto.
{ui}  API         {base}/api   (documentation: {base}/docs)
  MQTT        127.0.0.1:{broker.port} (websockets {broker.ws_port})
  Data        {cluster.data_dir}   (logs in {cluster.data_dir / "logs"})
{units}

The workers are in the experiment "{DEMO_EXPERIMENT}". Try:
  B={base}; E={DEMO_EXPERIMENT}
  curl $B/api/workers
  curl -X POST "$B/api/workers/\\$broadcast/jobs/run/job_name/stirring/experiments/$E" \\
       -H 'Content-Type: application/json' -d '{{"options": {{"target_rpm": 400}}}}'
  curl $B/api/workers/pio01/jobs/running     # 202: then GET the result_url_path it gives
  curl -X PATCH "$B/api/workers/\\$broadcast/jobs/update/job_name/stirring/experiments/$E" \\
       -H 'Content-Type: application/json' -d '{{"settings": {{"target_rpm": 600}}}}'
  curl -X POST "$B/api/workers/\\$broadcast/jobs/stop/job_name/stirring/experiments/$E"

Press Ctrl-C to stop everything.
""",
        flush=True,
    )
