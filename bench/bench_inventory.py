"""Benchmark: latency of the experiments and inventory endpoints of a real leader process.

Starts mosquitto and ``pioleader leader`` on free ports with a fresh data directory, fills it
with ``--experiments`` experiments and ``--workers`` assigned workers, then times sequential
requests (median, p95, max) and a burst of concurrent ones. Run:

    .venv/bin/python -m bench.bench_inventory --experiments 1000 --workers 30

Figures are printed, not asserted: machines are noisy, tests assert behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from pioleader.broker import Mosquitto
from pioleader.net import free_port
from tests.integration.conftest import LeaderProcess


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"
        f"   max {ordered[-1] * 1000:7.2f} ms   (n={len(ordered)})"
    )


async def timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> float:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert response.status_code < 400, response.text
    return elapsed


async def run(experiments: int, workers: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto", port=free_port())
        broker.start()
        leader = LeaderProcess(Path(tmp) / "leader", broker.port, {})
        leader.start()
        base = leader.url
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                started = time.perf_counter()
                for i in range(experiments):
                    await client.post(
                        f"{base}/api/experiments",
                        json={"experiment": f"exp{i:05d}", "tags": ["bench", f"t{i % 7}"]},
                    )
                for i in range(workers):
                    unit = f"pio{i:02d}"
                    await client.put(f"{base}/api/workers", json={"pioreactor_unit": unit})
                    await client.put(
                        f"{base}/api/experiments/exp{i % 10:05d}/workers",
                        json={"pioreactor_unit": unit},
                    )
                fill = time.perf_counter() - started
                print(f"filled {experiments} experiments, {workers} workers in {fill:.2f} s")

                cases = {
                    "GET /api/experiments": ("GET", "/api/experiments", {}),
                    "GET /api/experiments/{e}": ("GET", "/api/experiments/exp00001", {}),
                    "GET /api/experiments/active": ("GET", "/api/experiments/active", {}),
                    "GET /api/workers": ("GET", "/api/workers", {}),
                    "GET /api/workers/{u}/experiment": ("GET", "/api/workers/pio01/experiment", {}),
                    "PUT /api/experiments/{e}/workers": (
                        "PUT",
                        "/api/experiments/exp00002/workers",
                        {"json": {"pioreactor_unit": "pio01"}},
                    ),
                }
                for name, (method, path, kwargs) in cases.items():
                    samples = [
                        await timed(client, method, base + path, **kwargs) for _ in range(repeat)
                    ]
                    print(f"{name:36s} {summary(samples)}")

                burst = 200
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        timed(client, "GET", f"{base}/api/workers/pio{i % workers:02d}/experiment")
                        for i in range(burst)
                    )
                )
                total = time.perf_counter() - started
                print(f"{burst} concurrent worker lookups: {total * 1000:.0f} ms in all")
        finally:
            leader.stop()
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.experiments, args.workers, args.repeat))


if __name__ == "__main__":
    main()
