"""The ``pioleader`` command: ``up`` (the simulated cluster) and ``leader`` (the API alone)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pioleader.broker import Mosquitto
from pioleader.net import free_port, port_is_free, wait_for_port
from pioleader.settings import CommandLineOverrides, default_data_dir, load_leader_settings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="Data directory (config, database, results). Default: ~/.pioleader",
    )
    parser.add_argument("--port", type=int, help="HTTP port of the leader. Default: [ui] port")
    parser.add_argument("--host", help="Address to bind. Default: 127.0.0.1")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pioleader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    leader = commands.add_parser("leader", help="Serve the leader API (needs a running broker).")
    _common(leader)
    leader.add_argument(
        "--mqtt-port", type=int, help="MQTT broker port. Default: [mqtt] broker_port"
    )

    worker = commands.add_parser("worker", help="Serve one unit's API over simulated hardware.")
    _common(worker)
    worker.add_argument("--name", required=True, help="The unit's name, e.g. pio01.")
    worker.add_argument("--mqtt-host", help="MQTT broker host. Default: [mqtt] broker_address")
    worker.add_argument(
        "--mqtt-port", type=int, help="MQTT broker port. Default: [mqtt] broker_port"
    )
    worker.add_argument("--model-name", default="pioreactor_40ml")
    worker.add_argument("--model-version", default="1.5")
    worker.add_argument(
        "--speedup", type=float, default=1.0, help="Biological speed-up of the simulated culture."
    )

    up = commands.add_parser("up", help="Start the broker, the leader and workers, until Ctrl-C.")
    _common(up)
    up.add_argument("--workers", type=int, default=3, help="How many simulated workers.")
    up.add_argument("--speedup", type=float, default=1.0, help="Biological speed-up of cultures.")
    up.add_argument("--mqtt-port", type=int, help="MQTT TCP port. Default: configured or free.")
    up.add_argument(
        "--mqtt-ws-port", type=int, help="MQTT websockets port. Default: configured or free."
    )
    return parser


def run_leader(args: argparse.Namespace) -> int:
    import uvicorn

    from pioleader.app import create_app

    settings = load_leader_settings(
        args.data_dir.expanduser().resolve(),
        CommandLineOverrides(port=args.port, bind_host=args.host, mqtt_port=args.mqtt_port),
    )
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
    )
    return 0


def run_worker(args: argparse.Namespace) -> int:
    import uvicorn

    from pioleader.unit.services import ProcessLifecycle
    from pioleader.worker.app import WorkerOverrides, create_worker_app, load_worker_settings

    data_dir = args.data_dir.expanduser().resolve()
    settings = load_worker_settings(data_dir, args)
    app = create_worker_app(settings, WorkerOverrides(lifecycle=ProcessLifecycle()))
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.port,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
    )
    return 0


def _pick_port(wanted: int | None, configured: int) -> int:
    if wanted is not None:
        return wanted
    return configured if port_is_free(configured) else free_port()


def run_up(args: argparse.Namespace) -> int:
    data_dir = args.data_dir.expanduser().resolve()
    settings = load_leader_settings(data_dir, CommandLineOverrides(port=args.port))
    if not port_is_free(settings.port):
        print(
            f"Port {settings.port} is already in use: is a pioleader already running? "
            f"Stop it, or pass --port (make run PORT=...).",
            file=sys.stderr,
        )
        return 1
    mqtt_port = _pick_port(args.mqtt_port, settings.mqtt.port)
    ws_port = _pick_port(args.mqtt_ws_port, settings.mqtt.ws_port)
    # The UI finds the broker through the shared config, so record the ports we really use.
    settings.config_files.set_shared_values(
        {("mqtt", "broker_port"): str(mqtt_port), ("mqtt", "broker_ws_port"): str(ws_port)}
    )
    broker = Mosquitto(data_dir / "mosquitto", port=mqtt_port, ws_port=ws_port)
    broker.start()
    leader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pioleader",
            "leader",
            "--data-dir",
            str(data_dir),
            "--port",
            str(settings.port),
            "--log-level",
            args.log_level,
            *(["--host", args.host] if args.host else []),
        ],
        start_new_session=True,
    )
    try:
        wait_for_port(settings.port, timeout=30)
        _announce(settings.port, mqtt_port, ws_port, data_dir)
        while leader.poll() is None:
            time.sleep(0.5)
        print(f"The leader exited with code {leader.returncode}.", file=sys.stderr)
        return leader.returncode or 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGTERM)
            try:
                leader.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(leader.pid, signal.SIGKILL)
        broker.stop()


def _announce(port: int, mqtt_port: int, ws_port: int, data_dir: Path) -> None:
    base = f"http://127.0.0.1:{port}"
    print(
        f"""
pioleader is up.
  API         {base}/api   (documentation: {base}/docs)
  MQTT        127.0.0.1:{mqtt_port} (websockets {ws_port})
  Data        {data_dir}

Try:
  curl {base}/unit_api/health
  curl -X POST {base}/api/experiments -H 'Content-Type: application/json' \\
       -d '{{"experiment": "demo", "description": "my first experiment"}}'
  curl -X PUT {base}/api/workers -H 'Content-Type: application/json' \\
       -d '{{"pioreactor_unit": "pio01", "model_name": "pioreactor_40ml", "model_version": "1.5"}}'
  curl -X PUT {base}/api/experiments/demo/workers -H 'Content-Type: application/json' \\
       -d '{{"pioreactor_unit": "pio01"}}'
  curl {base}/api/experiments

Press Ctrl-C to stop.
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "leader":
        return run_leader(args)
    if args.command == "worker":
        return run_worker(args)
    return run_up(args)
