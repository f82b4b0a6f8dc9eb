"""SLA benchmark: what SLA policies cost per command, the scheduler's breach sweep, the work queue.

Prints a table and writes ``benchmarks/results/bench_sla.json``. Every figure is
measured in the same run as its baseline; compare the ratios across machines.

* **commands**: a lifecycle of five commands per ticket (open, agent reply,
  customer reply, agent reply, resolve) on ``MemoryStore``, with no SLA (the
  baseline), with an always-open policy (first reply, next reply, resolution), and
  with an office-hours policy (Europe/Brussels, weekdays 9-17) with a warning and
  two escalation levels. Best of three runs; commands per second and the ratio
  to the baseline. After each command the engine computes the ticket's SLA state
  to store its next SLA instant and queue key.
* **breach sweep**: N open tickets whose first-reply target has passed; one
  ``run_due`` fires the breach and an escalation level (notify) of every one,
  beside a help desk without SLA whose time rule (``created`` + 1h, notify) fires
  on the same tickets: tickets per second and the ratio.
* **queue**: ``Helpdesk.queue(limit=50)`` (and filtered by agent) on stores of N
  waiting tickets under the always-open policy, per call (median of 20), beside
  the naive way without the queue index: read every waiting ticket
  (``Helpdesk.find``), compute its SLA state, sort, take 50. Both answers are
  compared and must be equal.

Usage: ``python benchmarks/bench_sla.py [--quick]`` (``--quick``: smaller sizes for
CI smoke runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from _common import banner, machine_info, peak_rss_mib, write_results

from ticketflow import (
    BusinessCalendar,
    FakeClock,
    Helpdesk,
    MemoryStore,
    Requester,
    SQLiteStore,
    Ticket,
    TicketStore,
)
from ticketflow.rules import Rule
from ticketflow.sla import SlaPolicy, SlaStatus

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Brussels
ANN = Requester(name="Ann", email="ann@example.com")
AGENTS = [f"agent{i}" for i in range(20)]
PRIORITIES = ("low", "normal", "high", "urgent")


TARGETS: Final = {
    p: {"first_reply": f"{8 - 2 * i}h", "next_reply": "8h", "resolution": "3d"}
    for i, p in enumerate(PRIORITIES)
}


def always_open() -> SlaPolicy:
    return SlaPolicy("always", targets=TARGETS)


def office() -> SlaPolicy:
    return SlaPolicy(
        "office",
        targets=TARGETS,
        calendar=BusinessCalendar.weekdays_9_to_5("Europe/Brussels"),
        warn_before="30m",
        escalations=[
            {"level": 1, "notify": "lead"},
            {"level": 2, "after": "4h", "assign": "lead", "priority": "raise"},
        ],
    )


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _lifecycles(desk: Helpdesk, clock: FakeClock, tickets: int) -> float:
    began = time.perf_counter()
    for i in range(tickets):
        clock.advance(timedelta(seconds=7))
        ticket = desk.open_ticket(
            subject="VPN down", requester=ANN, priority=PRIORITIES[i % 4], assignee=AGENTS[i % 20]
        )
        desk.agent_reply(ticket.id, "Which client?", by="bob")
        desk.customer_reply(ticket.id, "3.2")
        desk.agent_reply(ticket.id, "Fixed in 3.3", by="bob")
        desk.resolve(ticket.id, by="bob")
    return time.perf_counter() - began


def bench_commands(tickets: int) -> dict[str, Any]:
    """Commands per second without SLA, with an always-open and an office-hours policy."""
    setups: dict[str, Callable[[FakeClock], Helpdesk]] = {
        "no_sla": lambda clock: Helpdesk(store=MemoryStore(), clock=clock),
        "always_open": lambda clock: Helpdesk(
            store=MemoryStore(), clock=clock, sla=[always_open()]
        ),
        "office_hours": lambda clock: Helpdesk(store=MemoryStore(), clock=clock, sla=[office()]),
    }
    best: dict[str, float] = {}
    for _ in range(3):
        for name, make in setups.items():
            clock = FakeClock(START)
            seconds = _lifecycles(make(clock), clock, tickets)
            best[name] = min(best.get(name, seconds), seconds)
    commands = tickets * 5
    out: dict[str, Any] = {"tickets": tickets, "commands": commands}
    for name, seconds in best.items():
        out[f"{name}_commands_per_s"] = round(commands / seconds)
        out[f"{name}_us_per_command"] = round(seconds / commands * 1e6, 1)
    for name in ("always_open", "office_hours"):
        out[f"ratio_{name}_to_no_sla"] = round(best["no_sla"] / best[name], 2)
    return out


def bench_breach_sweep(tickets: int) -> dict[str, Any]:
    """One run_due firing N breaches (+ escalation), beside a time rule firing N notifications."""
    policy = SlaPolicy(
        "p", targets={"normal": {"first_reply": "1h"}}, escalations=[{"level": 1, "notify": "lead"}]
    )
    remind = Rule.from_dict(
        {
            "name": "remind",
            "at": {"anchor": "created", "delay": "1h"},
            "conditions": {"field": "category", "op": "in", "value": ["new", "open"]},
            "actions": [{"notify": "lead"}],
        }
    )
    out: dict[str, Any] = {"tickets": tickets}
    for name, desk_of in (
        ("sla", lambda c: Helpdesk(store=MemoryStore(), clock=c, sla=[policy])),
        ("time_rule", lambda c: Helpdesk(store=MemoryStore(), clock=c, rules=[remind])),
    ):
        clock = FakeClock(START)
        desk = desk_of(clock)
        for _ in range(tickets):
            desk.open_ticket(subject="x", requester=ANN)
        began = time.perf_counter()
        fired = desk.run_due(START + timedelta(hours=3))
        seconds = time.perf_counter() - began
        if fired != tickets or desk.store.next_due_at() is not None:
            msg = f"{name}: fired {fired} of {tickets}, something still due"
            raise AssertionError(msg)
        out[f"{name}_tickets_per_s"] = round(tickets / seconds)
    ratio = out["sla_tickets_per_s"] / out["time_rule_tickets_per_s"]
    out["ratio_sla_to_time_rule"] = round(ratio, 2)
    return out


def _naive_queue(desk: Helpdesk, agent: str | None, limit: int) -> list[str]:
    """The queue without an index: every waiting ticket read, its SLA computed, sorted."""
    now = desk.clock.now()
    keyed: list[tuple[Any, ...]] = []
    for ticket in desk.find(category=["new", "open"], assignee=agent):
        state = desk.sla_state(ticket.id, now)
        dues = [
            m.due_at
            for m in state.metrics.values()
            if m.due_at is not None
            and m.completed_at is None
            and m.status in (SlaStatus.RUNNING, SlaStatus.BREACHED)
        ]
        due = min(dues, default=None)
        keyed.append((due is None, due or now, ticket.created_at, -int(ticket.priority), ticket.id))
    keyed.sort()
    return [k[-1] for k in keyed[:limit]]


def _median_call(call: Callable[[], list[Ticket]], calls: int) -> tuple[float, list[Ticket]]:
    times = []
    result: list[Ticket] = []
    for _ in range(calls):
        began = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def bench_queue(store_name: str, store: TicketStore, tickets: int) -> dict[str, Any]:
    """desk.queue(limit=50) per call vs the naive read-everything-and-sort, on one store."""
    clock = FakeClock(START)
    desk = Helpdesk(store=store, clock=clock, sla=[always_open()])
    began = time.perf_counter()
    for i in range(tickets):
        clock.advance(timedelta(seconds=3))
        desk.open_ticket(
            subject="x", requester=ANN, priority=PRIORITIES[i % 4], assignee=AGENTS[i % 20]
        )
    build_s = time.perf_counter() - began
    out: dict[str, Any] = {"store": store_name, "tickets": tickets, "build_s": round(build_s, 1)}
    for label, agent in (("all", None), ("agent", AGENTS[3])):
        indexed_s, queued = _median_call(lambda a=agent: desk.queue(agent=a, limit=50), 20)
        began = time.perf_counter()
        naive = _naive_queue(desk, agent, 50)
        naive_s = time.perf_counter() - began
        if [t.id for t in queued] != naive:
            msg = f"{store_name} {label}: the queue and the naive order differ"
            raise AssertionError(msg)
        out[f"{label}_queue_ms"] = round(indexed_s * 1e3, 3)
        out[f"{label}_naive_ms"] = round(naive_s * 1e3, 1)
        out[f"{label}_ratio_naive_to_queue"] = round(naive_s / indexed_s)
    return out


def _table(info: dict[str, Any], results: dict[str, Any]) -> None:
    print(banner(info))
    c = results["commands"]
    print(f"\ncommands ({c['tickets']:,} lifecycles x 5, MemoryStore)   per s    us/cmd  ratio")
    for name in ("no_sla", "always_open", "office_hours"):
        ratio = "1.00" if name == "no_sla" else f"{c[f'ratio_{name}_to_no_sla']:.2f}"
        print(
            f"  {name:<44}{c[f'{name}_commands_per_s']:>8,}{c[f'{name}_us_per_command']:>10}"
            f"{ratio:>7}"
        )
    b = results["breach_sweep"]
    print(f"\nbreach sweep ({b['tickets']:,} tickets due, one run_due)      tickets/s")
    print(f"  {'SLA breach + escalation level 1':<44}{b['sla_tickets_per_s']:>8,}")
    print(f"  {'time rule notify (baseline)':<44}{b['time_rule_tickets_per_s']:>8,}")
    print(f"  {'ratio SLA / time rule':<44}{b['ratio_sla_to_time_rule']:>8}")
    print(f"\n{'queue(limit=50)':<30}{'tickets':>9}{'queue ms':>10}{'naive ms':>11}{'ratio':>8}")
    for q in results["queue"]:
        for label in ("all", "agent"):
            name = f"{q['store']} ({'one agent' if label == 'agent' else 'all'})"
            print(
                f"  {name:<28}{q['tickets']:>9,}{q[f'{label}_queue_ms']:>10}"
                f"{q[f'{label}_naive_ms']:>11}{q[f'{label}_ratio_naive_to_queue']:>8,}"
            )


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke run)")
    args = parser.parse_args()
    began = time.perf_counter()
    info = machine_info()
    lifecycles = 1_000 if args.quick else 5_000
    sweep = 2_000 if args.quick else 20_000
    sizes = [2_000, 10_000] if args.quick else [10_000, 100_000]
    _progress(f"commands: {lifecycles:,} lifecycles x 3 setups x 3 runs")
    results: dict[str, Any] = {"commands": bench_commands(lifecycles)}
    _progress(f"breach sweep: {sweep:,} tickets")
    results["breach_sweep"] = bench_breach_sweep(sweep)
    results["queue"] = []
    with tempfile.TemporaryDirectory(prefix="bench-sla-") as tmp:
        for tickets in sizes:
            _progress(f"queue: {tickets:,} tickets on MemoryStore and SQLite")
            results["queue"].append(bench_queue("MemoryStore", MemoryStore(), tickets))
            store = SQLiteStore(Path(tmp) / f"queue-{tickets}.db", synchronous="OFF")
            results["queue"].append(bench_queue("SQLite", store, tickets))
            store.close()
    run = {
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - began, 1),
        "peak_rss_mib": peak_rss_mib(),
    }
    _table(info, results)
    print(f"\nwall time {run['wall_s']} s, peak RSS {run['peak_rss_mib']} MiB")
    path = write_results("bench_sla", {"machine": info, "run": run, **results})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
