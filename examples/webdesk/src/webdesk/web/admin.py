"""The admins' page: the workflow diagram drawn from the configuration, SLA policies, rules."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .. import charts
from .common import Admin, desk_of, page

__all__ = ["router"]

router = APIRouter(prefix="/admin")


@router.get("", response_class=HTMLResponse)
def configuration(request: Request, user: Admin) -> Response:
    """What the help desk runs, read from its configuration (`HelpdeskConfig`)."""
    config = desk_of(request).helpdesk.config
    policies = [
        {
            "name": policy.name,
            "calendar": policy.calendar,
            "conditions": json.dumps(policy.to_dict().get("conditions")),
            "targets": {
                str(priority): {str(metric): target for metric, target in targets.items()}
                for priority, targets in policy.targets.items()
            },
        }
        for policy in config.sla.policies
    ]
    rules = [
        {
            "name": rule.name,
            "when": (
                f"on {', '.join(sorted(str(kind) for kind in rule.on)) or 'any event'}"
                if rule.on is not None
                else f"at {rule.to_dict().get('at')}"
            ),
            "conditions": json.dumps(rule.to_dict().get("conditions")),
            "actions": json.dumps(list(rule.actions)),
        }
        for rule in config.rules
    ]
    return page(
        request,
        "admin.html",
        diagram=charts.workflow_diagram(config.workflow),
        mermaid=config.workflow.mermaid(),
        workflow=config.workflow,
        policies=policies,
        rules=rules,
        outbox=sorted(str(kind) for kind in config.outbox),
    )
