"""Benchmark: a $broadcast fan-out from 202 to succeeded, over 3, 10 and 30 real workers.

For each cluster size it starts mosquitto, the leader and N ``pioleader worker`` processes
(``pioleader up``'s SimulatedCluster), then times ``GET /api/units/$broadcast/versions/app``
from the request to the task's ``succeeded`` (polling the result every 5 ms), first with every
worker alive, then with one worker SIGKILLed. Run:

    .venv/bin/python -m bench.bench_fanout --sizes 3 10 30 --repeat 30

Figures are printed, not asserted. Target (issue 3): under 150 ms at 30 live workers; a dead
worker costs no more than its timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from pioleader.net import free_port
from pioleader.up import SimulatedCluster


async def one_fanout(client: httpx.AsyncClient) -> tuple[float, dict]:
    started = time.perf_counter()
    accepted = await client.get("/api/units/$broadcast/versions/app")
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["result_url_path"]
    while True:
        response = await client.get(url)
        if response.status_code == 200:
            body: dict = response.json()
            return time.perf_counter() - started, body
        await asyncio.sleep(0.005)


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
        f"  max {ordered[-1] * 1000:7.1f} ms"
    )


async def measure(cluster: SimulatedCluster, repeat: int, label: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cluster.leader_port}") as client:
        await one_fanout(client)  # warm the connections
        samples: list[float] = []
        for _ in range(repeat):
            elapsed, body = await one_fanout(client)
            samples.append(elapsed)
        ok = sum(1 for envelope in body["result"].values() if envelope["ok"])
        print(f"  {label:<22} {describe(samples)}   ({ok}/{len(body['result'])} units ok)")


def run(size: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = SimulatedCluster(
            data_dir=Path(tmp),
            workers=size,
            port=free_port(),
            mqtt_port=free_port(),
            mqtt_ws_port=free_port(),
            log_level="warning",
        )
        try:
            started = time.perf_counter()
            cluster.start()
            print(f"{size} workers (+ leader), started in {time.perf_counter() - started:.1f} s")
            asyncio.run(measure(cluster, repeat, "all alive"))
            victim = next(p for p in cluster.processes if p.name == "pio01")
            os.killpg(victim.popen.pid, signal.SIGKILL)
            victim.popen.wait()
            asyncio.run(measure(cluster, repeat, "pio01 SIGKILLed"))
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 30])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.repeat)


if __name__ == "__main__":
    main()
