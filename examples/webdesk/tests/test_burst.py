"""A bounded burst: 8 threads x 200 requests to 127.0.0.1 lose nothing; latency percentiles."""

from __future__ import annotations

import json
import os
import platform
import threading
import time

import pytest

from webdesk_support import RESULTS, Client, Server

THREADS = 8
REQUESTS = 200


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def test_a_burst_of_8_threads_x_200_requests_loses_nothing(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ticket opened and every reply posted is stored exactly once; no request fails."""
    clients = [Client(server.url).sign_in(f"burst{n}@example.com") for n in range(THREADS)]
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    failures: list[str] = []
    opened: list[list[str]] = [[] for _ in range(THREADS)]
    replies: list[list[str]] = [[] for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def run(n: int) -> None:
        client = clients[n]
        start.wait()
        for i in range(REQUESTS):
            begin = time.perf_counter()
            if i % 4 == 0:  # open a ticket
                subject = f"burst {n}-{i}"
                status, headers, _ = client.post("/my/tickets", {"subject": subject})
                if status == 303:
                    opened[n].append(headers["location"].rsplit("/", 1)[-1])
            elif i % 4 == 1:  # reply to the thread's latest ticket
                body = f"reply {n}-{i}"
                status, _, _ = client.post(f"/my/tickets/{opened[n][-1]}/reply", {"body": body})
                if status == 303:
                    replies[n].append(body)
            elif i % 4 == 2:
                status, _, _ = client.get(f"/my/tickets/{opened[n][-1]}")
            else:
                status, _, _ = client.get("/my")
            latencies[n].append(time.perf_counter() - begin)
            if status not in {200, 303}:
                failures.append(f"thread {n} request {i}: {status}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    for client in clients:
        client.close()

    assert [] == failures
    helpdesk = server.desk.helpdesk
    for n in range(THREADS):
        stored = helpdesk.find(requester=f"burst{n}@example.com")
        assert sorted(opened[n]) == sorted(t.id for t in stored)
        assert sorted(f"burst {n}-{i}" for i in range(0, REQUESTS, 4)) == sorted(
            t.subject for t in stored
        )
        bodies = [m.body for t in stored for m in t.messages]
        assert sorted(replies[n]) == sorted(bodies)
        assert REQUESTS // 4 == len(replies[n])

    every = [x for per in latencies for x in per]
    figures = {
        "threads": THREADS,
        "requests_per_thread": REQUESTS,
        "requests": len(every),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(len(every) / wall, 1),
        "p50_ms": round(1000 * _percentile(every, 0.50), 2),
        "p95_ms": round(1000 * _percentile(every, 0.95), 2),
        "p99_ms": round(1000 * _percentile(every, 0.99), 2),
        "max_ms": round(1000 * max(every), 2),
        "mix": "1/4 open ticket, 1/4 reply, 1/4 ticket page, 1/4 my tickets",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "store": "SQLite file, synchronous=NORMAL, server and client in one process",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "burst.json").write_text(json.dumps(figures, indent=2) + "\n")
    with capsys.disabled():  # shown in every run's output, not only on failure
        print("\nburst:", json.dumps(figures))
    assert THREADS * REQUESTS == len(every)
