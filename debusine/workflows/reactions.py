"""Event reactions that workflows record on their children.

Workflows only record them (as data, on `WorkRequest.event_reactions`);
the orchestration engine runs them. Recording is idempotent: a reaction
already there is not added twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from debusine.models import WorkRequest

EVENTS = ("on_creation", "on_unblock", "on_assignment", "on_success", "on_failure")
BUILD_LOGS_COLLECTION = "_@debian:package-build-logs"
BUILD_LOG = "debian:package-build-log"


def add_event_reaction(
    work_request: WorkRequest, event: str, reaction: Mapping[str, Any]
) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; use one of {', '.join(EVENTS)}")
    reactions = dict(work_request.event_reactions or {})
    current = list(reactions.get(event) or [])
    if dict(reaction) in current:
        return
    reactions[event] = [*current, dict(reaction)]
    # JSONB columns notice reassignment, not changes in place.
    work_request.event_reactions = reactions


def retry_with_delays(work_request: WorkRequest, delays: Sequence[str]) -> None:
    """On failure, retry after each delay in turn (`30m`, `2h`, `1d`, `1w`)."""
    add_event_reaction(
        work_request,
        "on_failure",
        {"action": "retry-with-delays", "delays": list(delays)},
    )


def record_build_log(work_request: WorkRequest, variables: Mapping[str, Any]) -> None:
    """File a build's log in `_@debian:package-build-logs`.

    A bare item when the build is created (so a build in progress is
    listed), replaced by the log artifact once it ends, whatever the result.
    """
    data = {"work_request_id": work_request.id, **variables}
    add_event_reaction(
        work_request,
        "on_creation",
        {
            "action": "update-collection-with-data",
            "collection": BUILD_LOGS_COLLECTION,
            "category": BUILD_LOG,
            "data": data,
        },
    )
    for event in ("on_success", "on_failure"):
        add_event_reaction(
            work_request,
            event,
            {
                "action": "update-collection-with-artifacts",
                "collection": BUILD_LOGS_COLLECTION,
                "variables": data,
                "artifact_filters": {"category": BUILD_LOG},
            },
        )


__all__ = ["add_event_reaction", "record_build_log", "retry_with_delays"]
