"""Core benchmark: commands through Helpdesk + MemoryStore beside bare baselines.

Prints a table and writes ``benchmarks/results/bench_core.json``. Every figure is
measured in the same run as its baselines, and the ratios are what to compare
across machines:

* a command through ``Helpdesk`` + ``MemoryStore`` (alternating agent and
  customer replies over many tickets), beside a bare ``transitions`` trigger on
  the same graph (one shared ``Machine(model=None)``, the maintainers' pattern) and
  a plain dict transition table;
* memory per ticket for 100,000 tickets with 5 events each (status changes, no
  message bodies), measured with ``tracemalloc``;
* how the cost of a command grows with the ticket's history: one ticket of 20, 200,
  2,000 and 10,000 events (alternating agent and customer replies, 7 minutes
  apart), then 15 timed batches of 20 more replies, with no SLA and with one SLA policy (first
  reply, next reply and resolution in an office-hours calendar). Reported: min
  and median per command over the repeats, each size's cost over the 20-event
  cost, and the SLA's cost over the same command without it.

Usage: ``python benchmarks/bench_core.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import transitions
from _common import machine_info, write_results
from transitions import Machine

from ticketflow import BusinessCalendar, FakeClock, Helpdesk, MemoryStore, Requester, workflows
from ticketflow.sla import SlaPolicy


class _Model:
    """What a bare transitions trigger runs on: an object with a ``state``."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _median_us(samples: list[float], ops: int) -> float:
    return statistics.median(samples) / ops * 1e6


def bench_commands(tickets: int, rounds: int, repeats: int) -> dict[str, float]:
    """Microseconds per reply command, and the two baselines, same run.

    The three measurements are interleaved in every repeat, so a noisy neighbour
    on a shared machine slows all three alike; the medians are reported.
    """
    workflow = workflows.liveagent()
    ops = tickets * rounds * 2
    machine = Machine(model=None, **workflow._machine_config())  # noqa: SLF001
    agent_event = machine.events["agent_reply"]
    customer_event = machine.events["customer_reply"]
    table = {
        (source, t.trigger): t.dest
        for t in workflow.transitions
        for source in workflow.expand_sources(t)
    }
    helpdesk_s: list[float] = []
    bare_s: list[float] = []
    dict_s: list[float] = []
    for _ in range(repeats):
        desk = Helpdesk(workflow=workflow, store=MemoryStore(), clock=FakeClock())
        ann = Requester(name="Ann", email="ann@example.org")
        ids = [desk.open_ticket(subject=f"t{i}", requester=ann).id for i in range(tickets)]
        agent_reply, customer_reply = desk.agent_reply, desk.customer_reply
        gc.collect()
        start = time.perf_counter()
        for _ in range(rounds):
            for ticket_id in ids:
                agent_reply(ticket_id, "x", by="bob")
                customer_reply(ticket_id, "x")
        helpdesk_s.append(time.perf_counter() - start)
        assert all(desk.get(i).status == "open" for i in ids)

        models = [_Model("new") for _ in range(tickets)]
        gc.collect()
        start = time.perf_counter()
        for _ in range(rounds):
            for model in models:
                agent_event.trigger(model)
                customer_event.trigger(model)
        bare_s.append(time.perf_counter() - start)
        assert all(m.state == "open" for m in models)

        states = ["new"] * tickets
        start = time.perf_counter()
        for _ in range(rounds):
            for i in range(tickets):
                states[i] = table[(states[i], "agent_reply")]
                states[i] = table[(states[i], "customer_reply")]
        dict_s.append(time.perf_counter() - start)

    helpdesk_us = _median_us(helpdesk_s, ops)
    bare_us = _median_us(bare_s, ops)
    dict_us = _median_us(dict_s, ops)
    return {
        "commands": ops,
        "repeats": repeats,
        "helpdesk_us_per_command": round(helpdesk_us, 3),
        "transitions_us_per_trigger": round(bare_us, 3),
        "dict_us_per_lookup": round(dict_us, 3),
        "ratio_helpdesk_to_transitions": round(helpdesk_us / bare_us, 3),
        "ratio_helpdesk_to_dict": round(helpdesk_us / dict_us, 1),
    }


def bench_memory(tickets: int) -> dict[str, float]:
    """Bytes per ticket (5 status-change events each, distinct requesters)."""
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    desk = Helpdesk(workflow=workflows.liveagent(), store=MemoryStore(), clock=clock)
    second = timedelta(seconds=1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(tickets):
        requester = Requester(name=f"Customer {i}", email=f"customer{i}@example.org")
        ticket = desk.open_ticket(subject=f"Cannot log in #{i}", requester=requester)
        for command in (desk.resolve, desk.reopen, desk.resolve, desk.close):
            clock.advance(second)
            command(ticket.id, by="agent-7")
        clock.advance(second)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    sample = desk.get(ticket.id)
    assert len(sample.timeline) == 5
    assert desk.store.count() == tickets
    per_ticket = (after - before) / tickets
    return {
        "tickets": tickets,
        "events_per_ticket": 5,
        "bytes_per_ticket": round(per_ticket),
        "kib_per_ticket": round(per_ticket / 1024, 3),
        "target_kib": 1.5,
    }


def _office_policy() -> SlaPolicy:
    """One SLA policy, three metrics, weekdays 9 to 17 in Brussels."""
    targets = {"first_reply": "4h", "next_reply": "8h", "resolution": "3d"}
    return SlaPolicy(
        "office",
        targets=dict.fromkeys(("low", "normal", "high", "urgent"), targets),
        calendar=BusinessCalendar.weekdays_9_to_5("Europe/Brussels"),
    )


def _replies(desk: Helpdesk, ids: list[str], *, agent: bool) -> None:
    """One reply on each ticket: the agent's, or the customer's."""
    if agent:
        for ticket_id in ids:
            desk.agent_reply(ticket_id, "x", by="bob")
    else:
        for ticket_id in ids:
            desk.customer_reply(ticket_id, "x")


def bench_history(sizes: tuple[int, ...], batch: int, repeats: int) -> list[dict[str, float]]:
    """Microseconds per reply on one ticket of each history size, without and with an SLA policy.

    For each size, one ticket is brought to that many events; then each repeat
    times ``batch`` more replies on it and reports their mean. The ticket grows
    by ``batch * repeats`` events during the measurement (300 in the default run,
    so the 20-event row covers 20 to 320 events). Both modes run on their own
    help desk, in the same run; the collector runs once before the timed loop,
    not between samples (a collection empties the CPU caches the command uses).
    """
    step = timedelta(minutes=7)
    rows = []
    for size in sizes:
        row: dict[str, float] = {"events": size, "batch": batch, "repeats": repeats}
        for mode, sla in (("no_sla", ()), ("sla", (_office_policy(),))):
            clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
            desk = Helpdesk(workflow=workflows.liveagent(), clock=clock, sla=sla)
            ann = Requester(name="Ann", email="ann@example.org")
            ids = [desk.open_ticket(subject="long", requester=ann).id]
            for index in range(size - 1):
                clock.advance(step)
                _replies(desk, ids, agent=index % 2 == 0)
            samples = []
            index = size - 1
            gc.collect()
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(batch):
                    clock.advance(step)
                    _replies(desk, ids, agent=index % 2 == 0)
                    index += 1
                samples.append((time.perf_counter() - start) / batch * 1e6)
            # Each reply is one event; with the SLA policy a long-open ticket's
            # resolution target is breached once on the way (one more event).
            assert size + batch * repeats <= len(desk.get(ids[0]).timeline)
            row[f"{mode}_min_us"] = round(min(samples), 2)
            row[f"{mode}_median_us"] = round(statistics.median(samples), 2)
        rows.append(row)
    base = rows[0]
    for row in rows:
        for mode in ("no_sla", "sla"):
            for stat in ("min", "median"):
                row[f"{mode}_{stat}_vs_first"] = round(
                    row[f"{mode}_{stat}_us"] / base[f"{mode}_{stat}_us"], 2
                )
        row["sla_vs_no_sla_min"] = round(row["sla_min_us"] / row["no_sla_min_us"], 2)
        row["sla_vs_no_sla_median"] = round(row["sla_median_us"] / row["no_sla_median_us"], 2)
    return rows


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (for CI smoke runs)")
    args = parser.parse_args()
    tickets, rounds, repeats, memory_tickets = (
        (200, 5, 3, 10_000) if args.quick else (2_000, 10, 5, 100_000)
    )
    sizes, history_batch, history_repeats = (
        ((20, 200, 2_000), 20, 5) if args.quick else ((20, 200, 2_000, 10_000), 20, 15)
    )
    info = machine_info(transitions=transitions.__version__)
    commands = bench_commands(tickets, rounds, repeats)
    memory = bench_memory(memory_tickets)
    history = bench_history(sizes, history_batch, history_repeats)
    print(
        f"ticketflow {info['ticketflow']} / transitions {info['transitions']} / "
        f"Python {info['python']} on {info['platform']} ({info['cpus']} CPUs)"
    )
    print()
    print(f"{'measure':<52} {'value':>12}")
    print("-" * 65)
    rows = [
        ("Helpdesk + MemoryStore command (us)", commands["helpdesk_us_per_command"]),
        ("bare transitions trigger, shared Machine (us)", commands["transitions_us_per_trigger"]),
        ("plain dict transition lookup (us)", commands["dict_us_per_lookup"]),
        ("ratio Helpdesk / transitions (target <= 1.0)", commands["ratio_helpdesk_to_transitions"]),
        ("ratio Helpdesk / dict", commands["ratio_helpdesk_to_dict"]),
        (
            f"memory per ticket, {memory['tickets']:,} tickets x 5 events (KiB)",
            memory["kib_per_ticket"],
        ),
        ("memory target (KiB)", memory["target_kib"]),
    ]
    for name, value in rows:
        print(f"{name:<52} {value:>12}")
    print()
    print("cost per command by history size (us; min / median over repeats)")
    print(f"{'events':>8} {'no SLA':>17} {'x 20 ev':>8} {'SLA':>17} {'x 20 ev':>8} {'SLA/no':>11}")
    for row in history:
        print(
            f"{row['events']:>8,} "
            f"{row['no_sla_min_us']:>8.1f}/{row['no_sla_median_us']:<8.1f}"
            f"{row['no_sla_median_vs_first']:>8.2f} "
            f"{row['sla_min_us']:>8.1f}/{row['sla_median_us']:<8.1f}"
            f"{row['sla_median_vs_first']:>8.2f} "
            f"{row['sla_vs_no_sla_min']:>5.2f}/{row['sla_vs_no_sla_median']:<5.2f}"
        )
    path = write_results(
        "bench_core",
        {"machine": info, "commands": commands, "memory": memory, "history": history},
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
