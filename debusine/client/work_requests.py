"""The client's work-request commands (client-protocol.md routes 1-6).

`on-work-request-completed` polls `GET /work-request/?status=completed`
(every `--poll-interval` seconds, 10 by default) rather than using
upstream's WebSocket: it needs nothing but HTTP, and a missed poll is
caught up by the next one since the last completion time seen is kept (and
written to `--last-completed-at`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from debusine.client.commands import _read_data, absolute, output
from debusine.client.errors import ClientError
from debusine.client.http import APIClient

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_LIST_LIMIT = 20

Command = Callable[[argparse.Namespace, APIClient], None]
Add = Callable[[Any, str, Command, str], argparse.ArgumentParser]


def _path(work_request_id: int) -> str:
    return f"/work-request/{int(work_request_id)}/"


def _summary(client: APIClient, work_request: dict[str, Any], what: str) -> dict:
    return {
        "result": "success",
        "message": f"{what}: {absolute(client, work_request['url'])}",
        "work_request_id": work_request["id"],
        "status": work_request["status"],
    }


def cmd_create_work_request(args: argparse.Namespace, client: APIClient) -> None:
    body: dict[str, Any] = {
        "task_name": args.task_name,
        "task_data": _read_data(args.data),
        "event_reactions": _read_data(args.event_reactions),
    }
    if args.workspace:
        body["workspace"] = args.workspace
    created = client.post("/work-request/", body)
    output(_summary(client, created, "Work request registered"))


def cmd_show_work_request(args: argparse.Namespace, client: APIClient) -> None:
    work_request = client.get(_path(args.id))
    work_request["artifacts"] = [
        client.get(f"/artifact/{int(artifact_id)}/")
        for artifact_id in work_request.get("artifacts") or []
    ]
    output(work_request)


def cmd_list_work_requests(args: argparse.Namespace, client: APIClient) -> None:
    params = {}
    if args.workspace:
        params["workspace"] = args.workspace
    if args.status:
        params["status"] = args.status
    results: list[dict[str, Any]] = []
    for work_request in client.paginated("/work-request/", params):
        if args.limit and len(results) >= args.limit:
            break
        results.append(work_request)
    output(results)


def cmd_manage_work_request(args: argparse.Namespace, client: APIClient) -> None:
    if args.set_priority_adjustment is None:
        raise ClientError("nothing to do: give --set-priority-adjustment N")
    updated = client.call(
        "PATCH",
        _path(args.id),
        json={"priority_adjustment": args.set_priority_adjustment},
    )
    result = _summary(client, updated, "Work request updated")
    result["priority_adjustment"] = updated["priority_adjustment"]
    output(result)


def cmd_retry_work_request(args: argparse.Namespace, client: APIClient) -> None:
    new = client.post(_path(args.id) + "retry/", {})
    output(_summary(client, new, f"Work request {args.id} retried as"))


def cmd_abort_work_request(args: argparse.Namespace, client: APIClient) -> None:
    aborted = client.post(_path(args.id) + "abort/", {})
    output(_summary(client, aborted, "Work request aborted"))


# on-work-request-completed -----------------------------------------------


def _parse_time(value: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _read_last_completed_at(path: Path | None) -> dt.datetime | None:
    if path is None or not path.exists():
        return None
    try:
        value = json.loads(path.read_text())["last_completed_at"]
        return _parse_time(str(value))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClientError(
            f"--last-completed-at {path}: expected JSON "
            f'{{"last_completed_at": "<ISO 8601>"}}: {error}'
        ) from None


def _write_last_completed_at(path: Path | None, when: dt.datetime) -> None:
    if path is None:
        return
    text = json.dumps({"last_completed_at": when.isoformat().replace("+00:00", "Z")})
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text + "\n")
    temporary.replace(path)


def completed_since(
    client: APIClient, workspaces: list[str], since: dt.datetime
) -> Iterator[dict[str, Any]]:
    """Work requests completed after `since`, oldest completion first."""
    stamp = since.isoformat()
    found: dict[int, dict[str, Any]] = {}
    for workspace in workspaces or [""]:
        params = {"status": "completed", "completed_at_since": stamp}
        if workspace:
            params["workspace"] = workspace
        for work_request in client.paginated("/work-request/", params):
            completed_at = work_request.get("completed_at")
            # A server that ignores completed_at_since: filter here too.
            if completed_at and _parse_time(completed_at) > since:
                found[work_request["id"]] = work_request
    yield from sorted(
        found.values(), key=lambda wr: (_parse_time(wr["completed_at"]), wr["id"])
    )


class _Stop:
    """Set by SIGINT: the loop stops between two work requests, not in one."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: object) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def cmd_on_work_request_completed(args: argparse.Namespace, client: APIClient) -> None:
    path = Path(args.last_completed_at) if args.last_completed_at else None
    since = _read_last_completed_at(path) or dt.datetime.now(dt.UTC)
    command = [args.program, *args.args]
    stop = _Stop()
    previous = signal.signal(signal.SIGINT, stop)
    try:
        while not stop.requested:
            for work_request in completed_since(client, args.workspace or [], since):
                subprocess.run(  # noqa: S603 (the user's own command)
                    [*command, str(work_request["id"]), work_request["result"]],
                    check=False,
                )
                # Recorded once its command ran, so a restart does not rerun it.
                since = max(since, _parse_time(work_request["completed_at"]))
                _write_last_completed_at(path, since)
                if stop.requested:
                    break
            stop.sleep(args.poll_interval)
    finally:
        signal.signal(signal.SIGINT, previous)


# Registration ----------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_commands(
    subparsers: Any, add: Add, work_request_id: Callable[[str], int]
) -> None:
    """Register the work-request commands with the `debusine` parser."""
    create = add(
        subparsers,
        "create-work-request",
        cmd_create_work_request,
        "Create a work request",
    )
    create.add_argument("task_name", help="task name, e.g. noop")
    create.add_argument("--workspace", help="workspace (default: the scope's default)")
    create.add_argument(
        "--data", metavar="FILE", help="task data as a YAML file, or - for stdin"
    )
    create.add_argument(
        "--event-reactions", metavar="FILE", help="event reactions as a YAML file"
    )

    show = add(
        subparsers,
        "show-work-request",
        cmd_show_work_request,
        "Show a work request (and the artifacts it created)",
    )
    show.add_argument("id", type=work_request_id, help="work request id")

    listing = add(
        subparsers,
        "list-work-requests",
        cmd_list_work_requests,
        "List work requests, newest first",
    )
    listing.add_argument("--workspace", help="only this workspace")
    listing.add_argument(
        "--status",
        choices=["pending", "running", "completed", "aborted", "blocked"],
        help="only work requests with this status",
    )
    listing.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIST_LIMIT,
        help=f"at most this many (default {DEFAULT_LIST_LIMIT}; 0: all)",
    )

    manage = add(
        subparsers,
        "manage-work-request",
        cmd_manage_work_request,
        "Change a work request's priority adjustment",
    )
    manage.add_argument("id", type=work_request_id, help="work request id")
    manage.add_argument(
        "--set-priority-adjustment",
        type=int,
        metavar="N",
        help="raising it (N > 0) needs the right to manage priorities",
    )

    retry = add(
        subparsers,
        "retry-work-request",
        cmd_retry_work_request,
        "Retry an aborted or failed work request",
    )
    retry.add_argument("id", type=work_request_id, help="work request id")

    abort = add(
        subparsers,
        "abort-work-request",
        cmd_abort_work_request,
        "Abort a work request (and stop it on its worker)",
    )
    abort.add_argument("id", type=work_request_id, help="work request id")

    completed = add(
        subparsers,
        "on-work-request-completed",
        cmd_on_work_request_completed,
        "Run COMMAND ARGS... ID RESULT for each work request that completes"
        " (polls the server; stop with Ctrl-C)",
    )
    completed.add_argument(
        "--workspace",
        action="append",
        metavar="WORKSPACE",
        help="only this workspace (repeat for several; default: every workspace"
        " you may see)",
    )
    completed.add_argument(
        "--last-completed-at",
        metavar="FILE",
        help="JSON file keeping the last completion time seen: read at start"
        " (to catch up), updated after each command",
    )
    completed.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=DEFAULT_POLL_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between polls (default {DEFAULT_POLL_INTERVAL:g})",
    )
    # Not dest "command": that holds the subcommand's function.
    completed.add_argument("program", metavar="COMMAND", help="command to run")
    completed.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="ARGS",
        help="its arguments (ID RESULT appended)",
    )
