"""Workflow validation names the offending item; command errors name what was wrong."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketflow import (
    Category,
    ClosedPolicy,
    FakeClock,
    Helpdesk,
    Status,
    Ticket,
    TicketflowError,
    TicketNotFound,
    Transition,
    TransitionError,
    Workflow,
    WorkflowError,
    exceptions,
    workflows,
)

from .conftest import ANN

OpenTicket = Callable[..., Ticket]


def base() -> dict[str, Any]:
    """A small valid workflow definition; each test breaks one thing in a copy."""
    return copy.deepcopy(
        {
            "name": "mini",
            "initial": "new",
            "settings": {"closed_policy": "follow_up", "reopen_resolved": True},
            "statuses": [
                {"name": "new", "category": "new"},
                {"name": "open", "category": "open"},
                {"name": "closed", "category": "closed"},
                {"name": "purged", "category": "trash", "final": True},
            ],
            "transitions": [
                {"trigger": "agent_reply", "sources": ["new"], "dest": "open"},
                {"trigger": "close", "sources": ["new", "open"], "dest": "closed"},
                {"trigger": "purge", "sources": ["new", "open", "closed"], "dest": "purged"},
            ],
            "events": {"agent_reply": "agent_reply", "close": "close", "purge": "purge"},
        }
    )


def invalid(data: dict[str, Any], **kwargs: Any) -> WorkflowError:
    """Return the WorkflowError that ``Workflow.from_dict(data)`` raises."""
    with pytest.raises(WorkflowError) as info:
        Workflow.from_dict(data, **kwargs)
    return info.value


def test_base_definition_is_valid() -> None:
    """The base definition used below is a valid workflow."""
    wf = Workflow.from_dict(base())
    assert ("mini", "new", 4) == (wf.name, wf.initial, len(wf.statuses))


# --- one test per WorkflowError case ------------------------------------------------------


def test_unknown_category_names_the_status() -> None:
    """A status with an unknown category is refused; item names the status."""
    data = base()
    data["statuses"][1]["category"] = "waiting"
    error = invalid(data)
    assert "open" == error.item
    assert "'waiting'" in str(error)


def test_unknown_category_in_a_status_object_names_the_status() -> None:
    """Building a Workflow from Status objects checks categories too."""
    wf = Workflow.from_dict(base())
    statuses = [*wf.statuses[:1], Status(name="open", category="waiting"), *wf.statuses[2:]]  # type: ignore[arg-type]
    with pytest.raises(WorkflowError) as info:
        Workflow(
            name="mini",
            statuses=statuses,
            initial="new",
            transitions=wf.transitions,
            events=wf.events,
        )
    assert "open" == info.value.item


def test_duplicate_status_names_the_status() -> None:
    """Declaring a status twice is refused; item names it."""
    data = base()
    data["statuses"].append({"name": "open", "category": "pending"})
    error = invalid(data)
    assert "open" == error.item
    assert "duplicate" in str(error)


def test_no_initial_status_is_refused() -> None:
    """A workflow without an initial status is refused (item None: the whole workflow)."""
    data = base()
    del data["initial"]
    error = invalid(data)
    assert error.item is None
    assert "no initial status" in str(error)


def test_unknown_initial_status_names_it() -> None:
    """An initial status that is not declared is refused; item names it."""
    data = base()
    data["initial"] = "fresh"
    assert "fresh" == invalid(data).item


def test_final_initial_status_names_it() -> None:
    """A final initial status is refused; item names it."""
    data = base()
    data["initial"] = "purged"
    error = invalid(data)
    assert "purged" == error.item
    assert "final" in str(error)


def test_no_statuses_is_refused() -> None:
    """A workflow without statuses is refused."""
    data = base()
    data["statuses"] = []
    assert "at least one status" in str(invalid(data))


def test_unreachable_status_names_it() -> None:
    """A status no path from the initial status reaches is refused; item names it."""
    data = base()
    data["statuses"].insert(2, {"name": "limbo", "category": "pending"})
    data["transitions"].append({"trigger": "close", "sources": ["limbo"], "dest": "closed"})
    error = invalid(data)
    assert "limbo" == error.item
    assert "unreachable" in str(error)


def test_non_final_status_without_a_way_out_names_it() -> None:
    """A reachable, non-final status with no outgoing transition is refused; item names it."""
    data = base()
    data["statuses"].insert(2, {"name": "stuck", "category": "pending"})
    data["transitions"].append({"trigger": "wait", "sources": ["open"], "dest": "stuck"})
    error = invalid(data)
    assert "stuck" == error.item
    assert "no outgoing transition" in str(error)


def test_status_whose_only_transition_is_a_self_loop_has_no_way_out() -> None:
    """A transition back to the same status is no way out; the status is named."""
    data = base()
    data["statuses"].insert(2, {"name": "stuck", "category": "pending"})
    data["transitions"].append({"trigger": "wait", "sources": ["open"], "dest": "stuck"})
    data["transitions"].append({"trigger": "nudge", "sources": ["stuck"], "dest": "stuck"})
    error = invalid(data)
    assert "stuck" == error.item
    assert "no outgoing transition" in str(error)


def test_closed_status_without_a_way_out_must_be_marked_final() -> None:
    """Even a closed-category status needs a way out unless it is marked final."""
    data = base()
    data["transitions"][2]["sources"] = ["new", "open"]
    assert "closed" == invalid(data).item
    data["statuses"][2]["final"] = True
    assert Workflow.from_dict(data).status("closed").final


def test_final_status_with_an_outgoing_transition_names_it() -> None:
    """A final status that a transition leaves from is refused; item names it."""
    data = base()
    data["transitions"].append({"trigger": "restore", "sources": ["purged"], "dest": "open"})
    error = invalid(data)
    assert "purged" == error.item
    assert "final" in str(error)


def test_wildcard_source_skips_final_statuses() -> None:
    """Sources ['*'] expand to every non-final status except the destination."""
    data = base()
    data["transitions"][2]["sources"] = ["*"]
    wf = Workflow.from_dict(data)
    assert ("new", "open", "closed") == wf.expand_sources(wf.transitions[2])


def test_transition_to_unknown_status_names_it() -> None:
    """A transition to an undeclared status is refused; item names the destination."""
    data = base()
    data["transitions"].append({"trigger": "escalate", "sources": ["open"], "dest": "tier2"})
    error = invalid(data)
    assert "tier2" == error.item
    assert "unknown destination" in str(error)


def test_transition_from_unknown_source_names_it() -> None:
    """A transition from an undeclared status is refused; item names the source."""
    data = base()
    data["transitions"].append({"trigger": "close", "sources": ["tier2"], "dest": "closed"})
    error = invalid(data)
    assert "tier2" == error.item
    assert "unknown source" in str(error)


def test_unknown_guard_names_it() -> None:
    """A transition naming an unknown guard is refused; item names the guard."""
    data = base()
    data["transitions"][1]["guard"] = "is_vip"
    error = invalid(data)
    assert "is_vip" == error.item
    assert "has_assignee" in str(error)  # the message lists the known guards


def test_custom_guard_is_accepted_when_given() -> None:
    """A guard passed to from_dict(guards=...) is known."""
    data = base()
    data["transitions"][1]["guard"] = "is_vip"
    wf = Workflow.from_dict(data, guards={"is_vip": lambda t: "vip" in t.tags})
    assert "is_vip" == wf.transitions[1].guard


def test_event_mapped_to_unknown_trigger_names_the_trigger() -> None:
    """An event mapped to a trigger no transition declares is refused; item names the trigger."""
    data = base()
    data["events"]["resolve"] = "solve"
    error = invalid(data)
    assert "solve" == error.item
    assert "'resolve'" in str(error)


def test_unknown_command_in_events_names_it() -> None:
    """An events key that is no command is refused; item names it."""
    data = base()
    data["events"]["escalate"] = "close"
    error = invalid(data)
    assert "escalate" == error.item
    assert "agent_reply" in str(error)  # the message lists the commands


def test_reopen_policy_needs_a_reply_way_out_of_closed() -> None:
    """closed_policy 'reopen' without a customer_reply way out of a closed status names it."""
    data = base()
    data["settings"]["closed_policy"] = "reopen"
    error = invalid(data)
    assert "closed" == error.item
    assert "customer_reply" in str(error)


def test_reopen_policy_is_valid_with_a_reply_way_out_of_closed() -> None:
    """With a customer_reply transition out of every closed status, 'reopen' is valid."""
    data = base()
    data["settings"]["closed_policy"] = "reopen"
    data["transitions"].append(
        {"trigger": "customer_reply", "sources": ["closed", "open"], "dest": "open"}
    )
    data["events"]["customer_reply"] = "customer_reply"
    assert ClosedPolicy.REOPEN == Workflow.from_dict(data).closed_policy


def test_reopen_policy_needs_no_reply_way_out_of_merged() -> None:
    """Merged statuses are exempt: replies to a merged ticket go to its target."""
    data = base()
    data["settings"]["closed_policy"] = "reopen"
    data["statuses"].insert(3, {"name": "merged", "category": "closed"})
    data["transitions"] += [
        {"trigger": "customer_reply", "sources": ["closed", "open"], "dest": "open"},
        {"trigger": "merge", "sources": ["open"], "dest": "merged"},
        {"trigger": "purge", "sources": ["merged"], "dest": "purged"},
    ]
    data["events"].update(customer_reply="customer_reply", merge="merge")
    assert "merged" == Workflow.from_dict(data).status("merged").name


def test_unknown_closed_policy_is_refused() -> None:
    """An unknown closed_policy is refused; item names the setting."""
    data = base()
    data["settings"]["closed_policy"] = "ignore"
    assert "closed_policy" == invalid(data).item


def test_negative_reopen_window_is_refused() -> None:
    """A negative reopen window is refused; item names the setting."""
    data = base()
    data["settings"]["reopen_window_days"] = -1
    assert "reopen_window" == invalid(data).item


def test_non_numeric_reopen_window_is_refused() -> None:
    """reopen_window_days must be a number; item names the key."""
    data = base()
    data["settings"]["reopen_window_days"] = "seven"
    assert "reopen_window_days" == invalid(data).item


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ((), "colour"),
        (("settings",), "reopen_days"),
        (("statuses", 1), "colour"),
        (("transitions", 0), "conditions"),
    ],
)
def test_unknown_keys_are_refused_and_named(where: tuple[Any, ...], key: str) -> None:
    """from_dict refuses unknown keys at every level; item names the key."""
    data = base()
    target: Any = data
    for step in where:
        target = target[step]
    target[key] = "x"
    error = invalid(data)
    assert key == error.item
    assert f"'{key}'" in str(error)


@pytest.mark.parametrize(
    ("mutate", "item"),
    [
        (lambda d: d.update(statuses="new"), "statuses"),
        (lambda d: d.update(transitions={"a": 1}), "transitions"),
        (lambda d: d.update(events=["close"]), "events"),
        (lambda d: d["statuses"].append("closed"), "statuses[4]"),
        (lambda d: d["transitions"][0].update(sources=[]), "agent_reply"),
        (lambda d: d.update(settings="strict"), "settings"),
    ],
)
def test_malformed_sections_are_refused(mutate: Callable[[dict[str, Any]], Any], item: str) -> None:
    """Sections of the wrong shape are refused with WorkflowError naming the section."""
    data = base()
    mutate(data)
    assert item == invalid(data).item


def test_empty_names_are_refused() -> None:
    """Empty status names and triggers are refused."""
    data = base()
    data["transitions"][0]["trigger"] = ""
    invalid(data)
    data = base()
    data["statuses"][1]["name"] = ""
    invalid(data)


def test_from_dict_refuses_a_non_mapping() -> None:
    """from_dict of a list raises WorkflowError."""
    with pytest.raises(WorkflowError):
        Workflow.from_dict([])  # type: ignore[arg-type]


def test_invalid_json_is_a_workflow_error() -> None:
    """from_json of malformed text raises WorkflowError (item None), chaining the parser error."""
    with pytest.raises(WorkflowError, match="invalid JSON") as info:
        Workflow.from_json('{"name": "x",')
    assert info.value.item is None
    assert isinstance(info.value.__cause__, ValueError)


def test_invalid_toml_is_a_workflow_error() -> None:
    """from_toml of malformed text raises WorkflowError (item None), chaining the parser error."""
    with pytest.raises(WorkflowError, match="invalid TOML") as info:
        Workflow.from_toml('name = "x"\n[[statuses]\nname = ')
    assert info.value.item is None
    assert isinstance(info.value.__cause__, ValueError)


def test_valid_json_of_an_invalid_workflow_names_the_item() -> None:
    """from_json validates like from_dict."""
    wf = Workflow.from_dict(base())
    text = wf.to_json().replace('"initial": "new"', '"initial": "fresh"')
    with pytest.raises(WorkflowError) as info:
        Workflow.from_json(text)
    assert "fresh" == info.value.item


def test_load_refuses_other_file_types(tmp_path: Path) -> None:
    """Workflow.load of a .yaml file raises WorkflowError naming the path."""
    path = tmp_path / "flow.yaml"
    path.write_text("name: x\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as info:
        Workflow.load(path)
    assert str(path) == info.value.item


def test_unknown_status_lookup_names_it() -> None:
    """Workflow.status of an undeclared name raises WorkflowError naming it."""
    with pytest.raises(WorkflowError) as info:
        workflows.liveagent().status("limbo")
    assert "limbo" == info.value.item


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["liveagent", "zendesk", "freshdesk"])
def test_presets_round_trip_through_dict_json_and_toml(name: str, tmp_path: Path) -> None:
    """A preset saved as dict, JSON, TOML or a file loads back equal."""
    wf = workflows.preset(name)
    assert wf == Workflow.from_dict(wf.to_dict())
    assert wf == Workflow.from_json(wf.to_json())
    assert wf == Workflow.from_toml(wf.to_toml())
    for suffix in (".toml", ".json"):
        path = tmp_path / f"{name}{suffix}"
        wf.save(path)
        assert wf == Workflow.load(path)


def test_reopen_window_round_trips() -> None:
    """A fractional reopen window survives the TOML round trip."""
    wf = workflows.liveagent(closed_policy="reopen", reopen_window=timedelta(hours=36))
    loaded = Workflow.from_toml(wf.to_toml())
    assert (timedelta(hours=36), ClosedPolicy.REOPEN) == (
        loaded.reopen_window,
        loaded.closed_policy,
    )


def test_building_from_objects_equals_building_from_data() -> None:
    """A Workflow built from Status/Transition objects equals the one from_dict builds."""
    built = Workflow(
        name="mini",
        initial="new",
        statuses=[
            Status(name="new", category=Category.NEW),
            Status(name="open", category=Category.OPEN),
            Status(name="closed", category=Category.CLOSED),
            Status(name="purged", category=Category.TRASH, final=True),
        ],
        transitions=[
            Transition(trigger="agent_reply", sources=("new",), dest="open"),
            Transition(trigger="close", sources=("new", "open"), dest="closed"),
            Transition(trigger="purge", sources=("new", "open", "closed"), dest="purged"),
        ],
        events={"purge": "purge", "close": "close", "agent_reply": "agent_reply"},
    )
    assert Workflow.from_dict(base()) == built


# --- errors raised by commands -------------------------------------------------------------


def test_transition_error_names_status_command_and_allowed(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """TransitionError carries the status, the command and the sorted allowed commands."""
    ticket = open_ticket()
    with pytest.raises(TransitionError) as info:
        desk.reopen(ticket.id)
    error = info.value
    expected_allowed = (
        "agent_reply",
        "close",
        "customer_reply",
        "delete",
        "merge",
        "note",
        "postpone",
        "purge",
        "resolve",
        "spam",
    )
    assert (ticket.id, "new", "reopen", expected_allowed, None) == (
        error.ticket_id,
        error.status,
        error.command,
        error.allowed,
        error.guard,
    )
    message = str(error)
    assert "'reopen'" in message
    assert "'new'" in message
    assert ", ".join(expected_allowed) in message
    assert expected_allowed == desk.allowed(ticket.id)


def test_transition_error_allowed_depends_on_the_status(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """In Resolved, the allowed commands include reopen and confirm but not resolve."""
    ticket = open_ticket()
    desk.resolve(ticket.id)
    with pytest.raises(TransitionError) as info:
        desk.resolve(ticket.id)
    assert {"reopen", "confirm"} <= set(info.value.allowed)
    assert "resolve" not in info.value.allowed
    assert sorted(info.value.allowed) == list(info.value.allowed)


UNKNOWN_ID_CALLS: dict[str, Callable[[Helpdesk], object]] = {
    "get": lambda d: d.get("01NOSUCHTICKET"),
    "timeline": lambda d: d.timeline("01NOSUCHTICKET"),
    "allowed": lambda d: d.allowed("01NOSUCHTICKET"),
    "agent_reply": lambda d: d.agent_reply("01NOSUCHTICKET", "x", by="bob"),
    "customer_reply": lambda d: d.customer_reply("01NOSUCHTICKET", "x"),
    "assign": lambda d: d.assign("01NOSUCHTICKET", "bob"),
    "resolve": lambda d: d.resolve("01NOSUCHTICKET"),
    "purge": lambda d: d.purge("01NOSUCHTICKET"),
    "fire": lambda d: d.fire("01NOSUCHTICKET", "close"),
    "store.get": lambda d: d.store.get("01NOSUCHTICKET"),
    "store.events": lambda d: d.store.events("01NOSUCHTICKET"),
    "open_ticket(parent_id)": lambda d: d.open_ticket(
        subject="x", requester=ANN, parent_id="01NOSUCHTICKET"
    ),
}


@pytest.mark.parametrize("call", UNKNOWN_ID_CALLS.keys())
def test_unknown_ticket_raises_ticket_not_found(desk: Helpdesk, call: str) -> None:
    """Every access to an unknown id raises TicketNotFound, a KeyError and a TicketflowError."""
    with pytest.raises(TicketNotFound) as info:
        UNKNOWN_ID_CALLS[call](desk)
    error = info.value
    assert "01NOSUCHTICKET" == error.ticket_id
    assert isinstance(error, KeyError)
    assert isinstance(error, TicketflowError)
    assert "no ticket with id '01NOSUCHTICKET'" == str(error)
    assert 0 == desk.store.count()


def test_merge_with_an_unknown_ticket_raises_ticket_not_found(
    desk: Helpdesk, open_ticket: OpenTicket
) -> None:
    """merge() with an unknown source or target raises TicketNotFound and changes nothing."""
    ticket = open_ticket()
    with pytest.raises(TicketNotFound):
        desk.merge(ticket.id, "01NOSUCHTICKET")
    with pytest.raises(TicketNotFound):
        desk.merge("01NOSUCHTICKET", ticket.id)
    assert ticket == desk.get(ticket.id)


def test_ticket_not_found_is_caught_as_key_error(desk: Helpdesk) -> None:
    """Code that catches KeyError catches TicketNotFound."""
    with pytest.raises(KeyError) as info:
        desk.get("nope")
    assert TicketNotFound is type(info.value)


@pytest.mark.parametrize("name", exceptions.__all__)
def test_every_error_derives_from_ticketflow_error(name: str) -> None:
    """Every exception class ticketflow exports is a TicketflowError."""
    cls = getattr(exceptions, name)
    assert inspect.isclass(cls)
    assert issubclass(cls, TicketflowError)


def test_error_tree_matches_the_documented_one() -> None:
    """The error hierarchy is the one drawn in the exceptions module docstring."""
    e = exceptions
    tree = {
        e.WorkflowError: (e.TicketflowError, ValueError),
        e.RuleError: (e.TicketflowError, ValueError),
        e.RuleLoopError: (e.RuleError,),
        e.TransitionError: (e.TicketflowError,),
        e.TicketLockedError: (e.TicketflowError,),
        e.TicketNotFound: (e.TicketflowError, KeyError),
        e.InvalidInputError: (e.TicketflowError, ValueError),
        e.ImportRecordError: (e.InvalidInputError,),
        e.ImportFormatError: (e.InvalidInputError,),
        e.StoreError: (e.TicketflowError,),
        e.ConflictError: (e.StoreError,),
        e.StoreUnavailable: (e.StoreError,),
    }
    assert tree == {cls: cls.__bases__ for cls in tree}
    assert set(e.__all__) == {cls.__name__ for cls in tree} | {"TicketflowError"}


def test_errors_raised_by_the_engine_are_ticketflow_errors(clock: FakeClock) -> None:
    """A refused command's error can be caught as TicketflowError."""
    desk = Helpdesk(workflows.zendesk(), clock=clock)
    ticket = desk.open_ticket(subject="x", requester=ANN)
    with pytest.raises(TicketflowError):
        desk.resolve(ticket.id)


def test_merge_must_lead_to_a_locked_status() -> None:
    """Merging into an unlocked status could let merges form a cycle; the status is named."""
    data = base()
    data["transitions"].append({"trigger": "merge", "sources": ["new"], "dest": "open"})
    data["events"]["merge"] = "merge"
    error = invalid(data)
    assert "open" == error.item
    assert "'merge' must lead to a locked" in str(error)


def test_purge_must_lead_to_a_final_status() -> None:
    """A purged ticket must be final, so nothing can bring personal data back."""
    data = base()
    data["events"]["purge"] = "close"
    error = invalid(data)
    assert "closed" == error.item
    assert "'purge' must lead to a final status" in str(error)


@pytest.mark.parametrize("name", ["*", "="])
def test_reserved_status_names_are_refused(name: str) -> None:
    """'*' and '=' mean something in transitions' sources and destinations."""
    data = base()
    data["statuses"].append({"name": name, "category": "open"})
    assert name == invalid(data).item


@pytest.mark.parametrize("trigger", ["state", "get_graph"])
def test_triggers_clashing_with_transitions_model_attributes_are_refused(trigger: str) -> None:
    """A trigger named like a model attribute transitions needs would break diagrams."""
    data = base()
    data["transitions"][0]["trigger"] = trigger
    data["events"]["agent_reply"] = trigger
    assert trigger == invalid(data).item


def test_reopen_policy_exempts_only_statuses_that_merging_alone_reaches() -> None:
    """A closed status that close also reaches still needs a reply transition under 'reopen'."""
    data = base()
    data["settings"]["closed_policy"] = "reopen"
    data["transitions"].append({"trigger": "merge", "sources": ["new", "open"], "dest": "closed"})
    data["events"]["merge"] = "merge"
    assert "closed" == invalid(data).item
