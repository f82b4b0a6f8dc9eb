"""retry_on_conflict and ConflictRetry: retry conflicts only, back off with jitter, give up."""

from __future__ import annotations

import attrs
import pytest

from ticketflow import (
    ConflictError,
    ConflictRetry,
    FakeClock,
    Helpdesk,
    InvalidInputError,
    MemoryStore,
    Requester,
    StoreUnavailable,
    Ticket,
    _retry,
    retry_on_conflict,
)


def conflict(n: int) -> ConflictError:
    return ConflictError(ticket_id=f"T{n}", expected_version=n, actual_version=n + 1)


class Flaky:
    """A function that raises the given errors in turn, then returns its arguments."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def __call__(self, *args: object, **kwargs: object) -> tuple[object, ...]:
        self.calls.append((args, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        return (*args, *sorted(kwargs.items()))


def policy(sleeps: list[float], **options: object) -> ConflictRetry:
    """A policy that records its waits instead of sleeping, with jitter fixed at 1."""
    return ConflictRetry(sleep=sleeps.append, jitter=lambda: 1.0, **options)  # type: ignore[arg-type]


def test_a_call_without_conflict_happens_once_and_returns_the_result() -> None:
    """No conflict: one call, its result returned, no wait."""
    sleeps: list[float] = []
    func = Flaky()
    assert (1, ("by", "bob")) == policy(sleeps)(func, 1, by="bob")
    assert [((1,), {"by": "bob"})] == func.calls
    assert [] == sleeps


def test_conflicts_are_retried_with_the_same_arguments_until_a_call_succeeds() -> None:
    """Three conflicts then success: four calls with the same arguments, three waits."""
    sleeps: list[float] = []
    func = Flaky(conflict(1), conflict(2), conflict(3))
    assert ("a", ("x", 2)) == policy(sleeps)(func, "a", x=2)
    assert 4 == len(func.calls)
    assert all((("a",), {"x": 2}) == call for call in func.calls)
    assert 3 == len(sleeps)


def test_the_longest_wait_doubles_after_each_conflict_up_to_the_cap() -> None:
    """With jitter at its top, the waits are backoff, 2x, 4x... capped at max_backoff."""
    sleeps: list[float] = []
    func = Flaky(*(conflict(i) for i in range(6)))
    policy(sleeps, backoff=0.01, max_backoff=0.05)(func)
    assert [0.01, 0.02, 0.04, 0.05, 0.05, 0.05] == sleeps


def test_the_wait_is_a_random_fraction_of_the_longest_wait() -> None:
    """Full jitter: the wait is jitter() times the ceiling, so colliding writers spread out."""
    sleeps: list[float] = []
    draws = iter([0.5, 0.25])
    retry = ConflictRetry(backoff=0.1, sleep=sleeps.append, jitter=lambda: next(draws))
    retry(Flaky(conflict(1), conflict(2)))
    assert [0.05, 0.05] == sleeps


def test_the_last_conflict_is_raised_when_the_attempts_run_out() -> None:
    """attempts=3 and four conflicts in store: three calls, two waits, the third conflict raised."""
    sleeps: list[float] = []
    errors = [conflict(1), conflict(2), conflict(3), conflict(4)]
    func = Flaky(*errors)
    with pytest.raises(ConflictError) as raised:
        policy(sleeps, attempts=3)(func)
    assert errors[2] is raised.value
    assert 3 == len(func.calls)
    assert 2 == len(sleeps)


def test_one_attempt_means_no_retry() -> None:
    """attempts=1 calls once and raises the conflict without waiting."""
    sleeps: list[float] = []
    func = Flaky(conflict(1))
    with pytest.raises(ConflictError):
        policy(sleeps, attempts=1)(func)
    assert 1 == len(func.calls)
    assert [] == sleeps


@pytest.mark.parametrize("error", [StoreUnavailable("down"), KeyError("x"), ValueError("bad")])
def test_other_errors_are_raised_at_once(error: Exception) -> None:
    """Only ConflictError is retried: anything else propagates from the first call."""
    sleeps: list[float] = []
    func = Flaky(error)
    with pytest.raises(type(error)) as raised:
        policy(sleeps)(func)
    assert error is raised.value
    assert 1 == len(func.calls)
    assert [] == sleeps


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": 2.5}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"backoff": -0.1}, "backoff"),
        ({"max_backoff": float("nan")}, "max_backoff"),
    ],
)
def test_invalid_settings_are_refused_naming_the_setting(
    options: dict[str, object], field: str
) -> None:
    """A policy with fewer than one attempt or a negative wait cannot be made."""
    with pytest.raises(InvalidInputError, match=field) as raised:
        ConflictRetry(**options)  # type: ignore[arg-type]
    assert field == raised.value.field


def test_the_default_policy_waits_at_most_a_quarter_second_each_time() -> None:
    """retry_on_conflict's policy: 10 attempts, ceilings 5 ms doubling up to 250 ms."""
    default = ConflictRetry(jitter=lambda: 1.0)
    assert 10 == default.attempts
    assert [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25, 0.25] == [
        default.delay(n) for n in range(1, 10)
    ]


def test_retry_on_conflict_gives_up_after_ten_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The function form uses the default policy: ten calls, then the conflict is raised."""
    sleeps: list[float] = []
    default = _retry._DEFAULT
    monkeypatch.setattr(_retry, "_DEFAULT", attrs.evolve(default, sleep=sleeps.append))
    func = Flaky(*(conflict(i) for i in range(20)))
    with pytest.raises(ConflictError):
        retry_on_conflict(func)
    assert 10 == len(func.calls)
    assert 9 == len(sleeps)
    assert all(0 <= s <= 0.25 for s in sleeps)


class RacingStore:
    """A store in which a rival writer commits right after each of our first ``races`` reads."""

    def __init__(self, inner: MemoryStore, races: int) -> None:
        self.inner = inner
        self.races = races
        self.rival = Helpdesk(store=inner, clock=FakeClock())

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def get(self, ticket_id: str) -> Ticket:
        ticket = self.inner.get(ticket_id)
        if self.races:
            self.races -= 1
            self.rival.add_tags(ticket_id, f"rival{self.races}")
        return ticket


def test_a_retried_helpdesk_command_lands_once_on_the_ticket_as_the_rival_left_it() -> None:
    """A command re-reads on each attempt: after two lost races it applies once, after theirs."""
    inner = MemoryStore()
    desk = Helpdesk(store=inner, clock=FakeClock())
    ticket = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
    racing = RacingStore(inner, races=2)
    desk = Helpdesk(store=racing, clock=FakeClock())  # type: ignore[arg-type]
    sleeps: list[float] = []
    result = policy(sleeps)(desk.add_note, ticket.id, "checked the gateway", by="bob")
    assert ["checked the gateway"] == [m.body for m in result.messages if m.private]
    assert {"rival0", "rival1"} == result.tags
    assert 2 == len(sleeps)
    assert ticket.version + 3 == result.version
    assert result == inner.get(ticket.id)


def test_without_retry_the_lost_race_raises_conflict_and_writes_nothing() -> None:
    """The same race without a retry: ConflictError, and only the rival's change is stored."""
    inner = MemoryStore()
    desk = Helpdesk(store=inner, clock=FakeClock())
    ticket = desk.open_ticket(subject="VPN", requester=Requester(name="Ann"))
    desk = Helpdesk(store=RacingStore(inner, races=1), clock=FakeClock())  # type: ignore[arg-type]
    with pytest.raises(ConflictError) as raised:
        desk.add_note(ticket.id, "checked the gateway", by="bob")
    assert (ticket.version, ticket.version + 1) == (
        raised.value.expected_version,
        raised.value.actual_version,
    )
    assert [] == [m for m in inner.get(ticket.id).messages if m.private]
