"""Async scoped handles: `AsyncHelpdesk.for_customer` and `AsyncHelpdesk.for_agent`.

They mirror `tests/unit/test_handles.py`: the same scope, permission checks and
results as the sync handles (the logic is `_handles`' own steps), awaited.
Coroutines run under ``asyncio.run`` in plain tests (see docs/howto/async.md).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from ticketflow import (
    Actor,
    AgentHandle,
    AsyncAgentHandle,
    AsyncCustomerHandle,
    AsyncHelpdesk,
    CustomerHandle,
    CustomerView,
    FakeClock,
    Helpdesk,
    HelpdeskConfig,
    InvalidInputError,
    PermissionDenied,
    Requester,
    Role,
    Ticket,
    TicketNotFound,
    workflows,
)

from .conftest import START

T = TypeVar("T")
ANN = Requester(name="Ann", email="ann@example.com", organisation="Acme")
ANNA = Requester(name="Anna", email="anna@example.com", organisation="Acme")
YAN = Requester(name="Yan", email="yan@example.org", organisation="Other")


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def _desk(config: HelpdeskConfig | None = None) -> AsyncHelpdesk:
    if config is not None:
        return AsyncHelpdesk(config=config, clock=FakeClock(START))
    return AsyncHelpdesk(workflows.liveagent(), clock=FakeClock(START))


def _public(cls: type) -> dict[str, Any]:
    return {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_")}


@pytest.mark.parametrize(
    ("sync", "async_"), [(CustomerHandle, AsyncCustomerHandle), (AgentHandle, AsyncAgentHandle)]
)
def test_async_handles_have_the_sync_handles_methods_and_signatures(
    sync: type, async_: type
) -> None:
    """Every public method of a sync handle exists on its async twin, with the same parameters."""
    sync_members, async_members = _public(sync), _public(async_)
    assert set(sync_members) == set(async_members)
    for name, member in sync_members.items():
        if isinstance(member, property):
            assert isinstance(async_members[name], property), name
            continue
        want = list(inspect.signature(member).parameters.values())
        got = list(inspect.signature(async_members[name]).parameters.values())
        assert [(p.name, p.kind, p.default) for p in want] == [
            (p.name, p.kind, p.default) for p in got
        ], name


def test_a_customer_handle_reads_its_own_tickets_as_views() -> None:
    """get returns a CustomerView: no private note in it."""

    async def main() -> None:
        async with _desk() as desk:
            ticket = await desk.open_ticket(subject="VPN", requester=ANN)
            await desk.add_note(ticket.id, "Ann is on the VIP list", by="bob")
            await desk.agent_reply(ticket.id, "Restarting the gateway", by="bob")
            ann = desk.for_customer("ann@example.com")
            assert isinstance(ann, AsyncCustomerHandle)
            view = await ann.get(ticket.id)
            assert isinstance(view, CustomerView)
            assert ["Restarting the gateway"] == [m.body for m in view.messages]
            assert "VIP" not in repr(view)
            assert "VIP" not in repr(await ann.timeline(ticket.id))
            assert "VIP" not in repr(await ann.find())
            assert () == (await ann.search("VIP")).items
            assert [ticket.id] == [v.id for v in (await ann.search("gateway")).items]

    run(main())


def test_guessing_another_customers_id_is_not_found_like_an_unknown_id() -> None:
    """Every read, command and search on Yan's ticket through Ann's handle: TicketNotFound."""

    async def main() -> None:
        async with _desk() as desk:
            yans = await desk.open_ticket(subject="Invoice", requester=YAN, description="acct 456")
            ann = desk.for_customer("ann@example.com")
            before = await desk.find()
            calls: list[Callable[[], Awaitable[object]]] = [
                lambda: ann.get(yans.id),
                lambda: ann.timeline(yans.id),
                lambda: ann.allowed(yans.id),
                lambda: ann.customer_reply(yans.id, "hello"),
                lambda: ann.confirm_resolution(yans.id),
                lambda: ann.open_ticket(subject="follow-up", parent_id=yans.id),
            ]
            for call in calls:
                with pytest.raises(TicketNotFound) as info:
                    await call()
                assert f"no ticket with id {yans.id!r}" == str(info.value)
            with pytest.raises(TicketNotFound) as unknown:
                await ann.get("01NOSUCHTICKET")
            assert "no ticket with id '01NOSUCHTICKET'" == str(unknown.value)
            assert () == (await ann.search("invoice")).items
            assert [] == await ann.find()
            assert before == await desk.find()

    run(main())


def test_a_customer_handle_may_not_run_agent_commands() -> None:
    """resolve through a customer handle raises PermissionDenied and changes nothing."""

    async def main() -> None:
        async with _desk() as desk:
            ann = desk.for_customer(ANN)
            view = await ann.open_ticket(subject="VPN")
            before = await desk.find()
            with pytest.raises(PermissionDenied) as info:
                await ann.resolve(view.id)
            assert (Actor("ann@example.com", Role.CUSTOMER), "resolve") == (
                info.value.actor,
                info.value.command,
            )
            assert before == await desk.find()
            assert ("customer_reply",) == await ann.allowed(view.id)
            await desk.resolve(view.id, by="bob")
            assert ("confirm", "customer_reply") == await ann.allowed(view.id)

    run(main())


def test_a_customer_handle_opens_replies_and_confirms_as_the_customer() -> None:
    """Its commands are recorded as Actor(email, customer) and return views."""

    async def main() -> None:
        async with _desk() as desk:
            ann = desk.for_customer(ANN)
            view = await ann.open_ticket(subject="VPN", description="down since 9")
            assert isinstance(view, CustomerView)
            await ann.customer_reply(view.id, "still down")
            await desk.resolve(view.id, by="bob")
            closed = await ann.confirm_resolution(view.id, rating=5)
            assert "closed" == closed.status
            ticket = await desk.get(view.id)
            actors = {e.actor for e in ticket.timeline if e.actor.role is Role.CUSTOMER}
            assert {Actor("ann@example.com", Role.CUSTOMER)} == actors
            assert ANN == ticket.requester

    run(main())


def test_async_and_sync_handles_agree_on_the_same_history() -> None:
    """The same calls through sync and async handles give equal views, tickets and pages."""

    def ids() -> Callable[[object], str]:
        numbers = iter(range(1, 100))
        return lambda _at: f"T{next(numbers):04d}"

    sync = Helpdesk(workflows.liveagent(), clock=FakeClock(START), id_factory=ids())
    s_ann, s_bob = sync.for_customer(ANN), sync.for_agent("bob", departments=["it"])
    s_view = s_ann.open_ticket(subject="Printer smokes", description="the office printer")
    sync.assign(s_view.id, department="it", by="root")
    s_bob.add_note(s_view.id, "quokka in the toner")
    s_bob.agent_reply(s_view.id, "printer replaced")
    want = (
        s_ann.get(s_view.id),
        s_ann.find(),
        s_ann.search("printer"),
        s_ann.search("quokka"),
        s_bob.get(s_view.id),
        s_bob.find(),
        s_bob.queue(),
        s_bob.allowed(s_view.id),
    )

    async def main() -> tuple[object, ...]:
        async with AsyncHelpdesk(
            workflows.liveagent(), clock=FakeClock(START), id_factory=ids()
        ) as desk:
            ann, bob = desk.for_customer(ANN), desk.for_agent("bob", departments=["it"])
            view = await ann.open_ticket(subject="Printer smokes", description="the office printer")
            await desk.assign(view.id, department="it", by="root")
            await bob.add_note(view.id, "quokka in the toner")
            await bob.agent_reply(view.id, "printer replaced")
            return (
                await ann.get(view.id),
                await ann.find(),
                await ann.search("printer"),
                await ann.search("quokka"),
                await bob.get(view.id),
                await bob.find(),
                await bob.queue(),
                await bob.allowed(view.id),
            )

    got = run(main())
    assert want == got
    assert () == got[3].items  # type: ignore[attr-defined]  # a private note never matches


def test_merged_tickets_through_handles() -> None:
    """Yan, a participant of Ann's ticket by an allowed merge, reads and replies; Zoe may not."""

    async def main() -> None:
        async with _desk() as desk:
            anns = await desk.open_ticket(subject="VPN", requester=ANN)
            yans = await desk.open_ticket(subject="VPN", requester=YAN)
            await desk.merge(yans.id, anns.id, allow_other_requester=True, by="bob")
            yan = desk.for_customer(YAN)
            landed = await yan.customer_reply(yans.id, "any news?")
            assert anns.id == landed.id
            assert "any news?" == (await yan.get(anns.id)).messages[-1].body
            zoe = desk.for_customer("zoe@example.org")
            with pytest.raises(TicketNotFound):
                await zoe.get(anns.id)
            with pytest.raises(TicketNotFound):
                await zoe.customer_reply(yans.id, "me too")

    run(main())


def test_organisation_visibility_lets_colleagues_read_each_others_tickets() -> None:
    """With the flag, Anna of Acme reads Ann's ticket; Yan of Other still may not."""
    config = HelpdeskConfig.from_dict(
        {**HelpdeskConfig.preset("liveagent").to_dict(), "organisation_visibility": True}
    )

    async def main() -> None:
        async with _desk(config) as desk:
            anns = await desk.open_ticket(subject="VPN", requester=ANN)
            assert anns.id == (await desk.for_customer(ANNA).get(anns.id)).id
            with pytest.raises(TicketNotFound):
                await desk.for_customer(YAN).get(anns.id)
            with pytest.raises(TicketNotFound):
                await desk.for_customer("anna@example.com").get(anns.id)

    run(main())


@pytest.mark.parametrize("who", ["", "   ", Requester(name="Ann"), 42])
def test_a_customer_handle_needs_an_email_address(who: object) -> None:
    """A name proves nothing: for_customer refuses a requester without an address."""
    with pytest.raises(InvalidInputError) as info:
        _desk().for_customer(who)  # type: ignore[arg-type]
    assert "requester" == info.value.field


@pytest.mark.parametrize(("agent", "departments"), [("", None), ("bob", "network"), ("bob", [""])])
def test_for_agent_checks_its_arguments(agent: str, departments: object) -> None:
    """A blank agent id, a bare string of departments or a blank department is refused."""
    with pytest.raises(InvalidInputError):
        _desk().for_agent(agent, departments)  # type: ignore[arg-type]


def test_an_agent_handle_with_departments_sees_only_theirs() -> None:
    """Outside its departments: TicketNotFound for reads and commands; find and queue filter."""

    async def main() -> None:
        async with _desk() as desk:
            network = await desk.open_ticket(subject="VPN", requester=ANN, department="network")
            billing = await desk.open_ticket(subject="Invoice", requester=ANN, department="billing")
            unassigned = await desk.open_ticket(subject="?", requester=ANN)
            bob = desk.for_agent("bob", departments=["network"])
            assert isinstance(bob, AsyncAgentHandle)
            assert network.id == (await bob.get(network.id)).id
            before = await desk.find()
            for ticket_id in (billing.id, unassigned.id):
                for call in (
                    lambda i=ticket_id: bob.get(i),
                    lambda i=ticket_id: bob.timeline(i),
                    lambda i=ticket_id: bob.agent_reply(i, "hi"),
                    lambda i=ticket_id: bob.resolve(i),
                    lambda i=ticket_id: bob.next_due(i),
                    lambda i=ticket_id: bob.sla_state(i),
                ):
                    with pytest.raises(TicketNotFound):
                        await call()
            with pytest.raises(TicketNotFound):
                await bob.merge(network.id, billing.id)
            assert before == await desk.find()
            assert [network.id] == [t.id for t in await bob.find()]
            assert [] == await bob.find(department="billing")
            assert [network.id] == [t.id for t in await bob.queue()]
            with pytest.raises(InvalidInputError):
                await bob.queue(department="billing")
            with pytest.raises(PermissionDenied):
                await bob.open_ticket(subject="x", requester=ANN, department="billing")
            opened = await bob.open_ticket(subject="x", requester=ANN, department="network")
            assert "network" == opened.department
            noted = await bob.add_note(network.id, "private")
            assert Actor("bob", Role.AGENT) == noted.timeline[-1].actor
            with pytest.raises(PermissionDenied):
                await bob.purge(network.id)
            assert isinstance(await bob.get(network.id), Ticket)

    run(main())


def test_handles_go_through_the_policy_hook() -> None:
    """An async handle's command reaches the policy with the handle's actor."""
    seen: list[Actor] = []

    def policy(actor: Actor, _command: object, _ticket: object) -> str | None:
        seen.append(actor)
        return "closed for the night" if actor.role is Role.AGENT else None

    async def main() -> None:
        async with AsyncHelpdesk(clock=FakeClock(START), policy=policy) as desk:
            view = await desk.for_customer(ANN).open_ticket(subject="VPN")
            with pytest.raises(PermissionDenied, match="closed for the night"):
                await desk.for_agent("bob").agent_reply(view.id, "hi")

    run(main())
    assert [Actor("ann@example.com", Role.CUSTOMER), Actor("bob", Role.AGENT)] == seen


def test_handle_reprs() -> None:
    """The reprs name the actor (and the departments)."""
    desk = _desk()
    assert "AsyncCustomerHandle('ann@example.com')" == repr(desk.for_customer(ANN))
    assert ANN == desk.for_customer(ANN).requester
    bob = desk.for_agent("bob", departments=["it"])
    assert "AsyncAgentHandle('bob', departments=frozenset({'it'}))" == repr(bob)
    assert frozenset({"it"}) == bob.departments
