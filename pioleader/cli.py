"""The ``pioleader`` command: ``up`` (the simulated cluster), ``leader`` (the API alone) and
``ingester`` (MQTT data into the database)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

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


def _ui(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ui-dir",
        type=Path,
        help="A web UI build to serve (the folder with its index.html). Default: [pioleader] "
        "ui_dir, else none",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pioleader", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    leader = commands.add_parser("leader", help="Serve the leader API (needs a running broker).")
    _common(leader)
    leader.add_argument(
        "--mqtt-port", type=int, help="MQTT broker port. Default: [mqtt] broker_port"
    )
    _ui(leader)

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
        "--announce", action="store_true", help="Announce the worker over mDNS (_pio-worker._tcp)."
    )
    worker.add_argument(
        "--speedup",
        type=float,
        help="Biological speed-up of the simulated culture. Default: [simulation] speedup",
    )

    ingester = commands.add_parser(
        "ingester", help="Store the cluster's MQTT data in the database (needs a running broker)."
    )
    ingester.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="Data directory (config, database). Default: ~/.pioleader",
    )
    ingester.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    ingester.add_argument(
        "--mqtt-port", type=int, help="MQTT broker port. Default: [mqtt] broker_port"
    )

    up = commands.add_parser("up", help="Start the broker, the leader and workers, until Ctrl-C.")
    _common(up)
    up.add_argument("--workers", type=int, default=3, help="How many simulated workers.")
    up.add_argument(
        "--speedup",
        type=float,
        help="Biological speed-up of cultures. Default: [simulation] speedup",
    )
    up.add_argument(
        "--no-jobs",
        action="store_true",
        help="Do not start stirring, OD, temperature and growth rate on the demo experiment.",
    )
    up.add_argument("--mqtt-port", type=int, help="MQTT TCP port. Default: configured or free.")
    up.add_argument(
        "--mqtt-ws-port", type=int, help="MQTT websockets port. Default: configured or free."
    )
    _ui(up)
    return parser


def _ui_dir(args: argparse.Namespace) -> Path | None:
    ui_dir: Path | None = args.ui_dir
    return None if ui_dir is None else ui_dir.expanduser().resolve()


def run_leader(args: argparse.Namespace) -> int:
    import uvicorn

    from pioleader.app import create_app
    from pioleader.webui import UiBuildInvalid

    settings = load_leader_settings(
        args.data_dir.expanduser().resolve(),
        CommandLineOverrides(
            port=args.port, bind_host=args.host, mqtt_port=args.mqtt_port, ui_dir=_ui_dir(args)
        ),
    )
    try:
        app = create_app(settings)
    except UiBuildInvalid as error:
        print(error, file=sys.stderr)
        return 2
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


def run_ingester(args: argparse.Namespace) -> int:
    import asyncio

    from pioleader.ingester import run_ingester as ingest

    settings = load_leader_settings(
        args.data_dir.expanduser().resolve(), CommandLineOverrides(mqtt_port=args.mqtt_port)
    )

    async def main() -> None:
        # SIGTERM (from `up`) and Ctrl-C both end in a clean stop that writes pending rows.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        await ingest(
            settings.database_path,
            settings.mqtt,
            leader=settings.leader_hostname,
            stop=stop,
            data_dir=settings.data_dir,
        )

    asyncio.run(main())
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_up(args: argparse.Namespace) -> int:
    from pioleader.up import AlreadyRunning, SimulatedCluster, announce
    from pioleader.webui import UiBuildInvalid

    # A terminated or hung-up `up` stops its processes as Ctrl-C does, leaving none behind.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    cluster = SimulatedCluster(
        data_dir=args.data_dir.expanduser().resolve(),
        workers=args.workers,
        port=args.port,
        mqtt_port=args.mqtt_port,
        mqtt_ws_port=args.mqtt_ws_port,
        speedup=args.speedup,
        log_level=args.log_level,
        ui_dir=_ui_dir(args),
        start_jobs=not args.no_jobs,
    )
    try:
        settings = cluster.start()
        announce(settings, cluster)
        return cluster.watch()
    except (AlreadyRunning, UiBuildInvalid) as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per request to a unit is noise; failures are logged by the fan-out itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "leader":
        return run_leader(args)
    if args.command == "worker":
        return run_worker(args)
    if args.command == "ingester":
        return run_ingester(args)
    return run_up(args)
