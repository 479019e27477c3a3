"""The client's commands for wait tasks: provide a signature, confirm a step.

`provide-signature ID` (client-protocol.md route 7): the `externaldebsign`
work request waits for its creator to sign a `debian:upload`. The command
downloads that upload into a temporary directory, signs it there with
`debsign` (arguments after `--` go to debsign, e.g. `-kKEYID`), or, with
`--local-file X.changes`, takes the `.changes` you signed yourself (and the
signed `.dsc` and `.buildinfo` beside it, if any) instead; it then creates
the signed upload as a new artifact and posts it to the work request.

`confirm-work-request ID --accept|--reject [--comment TEXT]` answers a
`confirm` step of a workflow.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from debusine.client.commands import absolute, output
from debusine.client.download import Downloader, safe_destination
from debusine.client.errors import ClientError
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact

Command = Callable[[argparse.Namespace, APIClient], None]
Add = Callable[[Any, str, Command, str], argparse.ArgumentParser]

# What signing an upload changes: these may come from beside --local-file.
SIGNED_SUFFIXES = (".changes", ".dsc", ".buildinfo")


def _path(work_request_id: int) -> str:
    return f"/work-request/{int(work_request_id)}/"


def _waiting_wait_task(
    client: APIClient, work_request_id: int, task_name: str
) -> dict[str, Any]:
    work_request = client.get(_path(work_request_id))
    if not isinstance(work_request, dict):
        raise ClientError(f"the server's answer about {work_request_id} is invalid")
    if (
        work_request.get("task_type") != "Wait"
        or work_request.get("task_name") != task_name
    ):
        raise ClientError(
            f"work request {work_request_id} is a {work_request.get('task_type')}"
            f" {work_request.get('task_name')} task, not a Wait {task_name} task"
        )
    if work_request.get("status") != "running":
        raise ClientError(
            f"work request {work_request_id} is {work_request.get('status')}:"
            " it is not waiting"
        )
    return work_request


def _download(client: APIClient, artifact: dict[str, Any], target: Path) -> None:
    files = artifact.get("files")
    if not isinstance(files, dict) or not files:
        raise ClientError(f"artifact {artifact.get('id')} has no files to sign")
    with progress_bars() as progress:
        downloader = Downloader(client, progress)
        for path, spec in sorted(files.items()):
            downloader.download_file(spec["url"], safe_destination(target, path), spec)


def _changes_in(directory: Path, artifact_id: int) -> Path:
    found = sorted(directory.glob("*.changes"))
    if len(found) != 1:
        raise ClientError(
            f"artifact {artifact_id} should hold one .changes, not {len(found)}"
        )
    return found[0]


def _use_local_files(local: Path, changes: Path) -> None:
    """Replace the downloaded .changes (and signed siblings) by the local ones."""
    if not local.is_file():
        raise ClientError(f"--local-file {local}: no such file")
    if local.name != changes.name:
        raise ClientError(
            f"--local-file {local}: the upload to sign is {changes.name}, not"
            f" {local.name}"
        )
    for downloaded in changes.parent.iterdir():
        sibling = local.parent / downloaded.name
        if downloaded.name.endswith(SIGNED_SUFFIXES) and sibling.is_file():
            shutil.copyfile(sibling, downloaded)


def _debsign(changes: Path, extra: list[str]) -> None:
    # The user's arguments first: debsign wants --no-conf first of all.
    command = ["debsign", *extra, "--re-sign", changes.name]
    try:
        result = subprocess.run(  # noqa: S603 (the user's own arguments)
            command,
            cwd=changes.parent,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as error:
        raise ClientError(f"cannot run debsign: {error.strerror}") from None
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise ClientError(
            f"debsign failed (exit {result.returncode}): "
            + (last[-1] if last else "no message")
        )


def cmd_provide_signature(args: argparse.Namespace, client: APIClient) -> None:
    # python-debian parses the signed .changes: imported by this command only.
    from debusine.artifacts import local as parsers

    work_request = _waiting_wait_task(client, args.id, "externaldebsign")
    info = client.get(_path(args.id) + "external-debsign/")
    unsigned_id = ((info or {}).get("dynamic_task_data") or {}).get("unsigned_id")
    if not isinstance(unsigned_id, int):
        raise ClientError(
            f"work request {args.id} does not say which upload to sign yet"
        )
    unsigned = client.get(f"/artifact/{unsigned_id}/")
    debsign_args = [a for a in args.debsign_args if a != "--"]
    with tempfile.TemporaryDirectory(prefix="debusine-signature-") as directory:
        target = Path(directory)
        _download(client, unsigned, target)
        changes = _changes_in(target, unsigned_id)
        if args.local_file:
            _use_local_files(Path(args.local_file), changes)
        else:
            _debsign(changes, debsign_args)
        try:
            upload = parsers.upload_from_changes(changes).artifacts[0]
            body = upload.create_request(workspace=work_request["workspace"])
        except parsers.InvalidLocalArtifact as error:
            raise ClientError(str(error)) from None
        with progress_bars() as progress:
            signed = create_artifact(
                client, body, upload.files, Uploader(client, progress)
            )
    done = client.post(
        _path(args.id) + "external-debsign/", {"signed_artifact": signed["id"]}
    )
    output(
        {
            "result": "success",
            "message": f"Signature provided: {absolute(client, done['url'])}",
            "work_request_id": done["id"],
            "status": done["status"],
            "signed_artifact_id": signed["id"],
        }
    )


def cmd_confirm_work_request(args: argparse.Namespace, client: APIClient) -> None:
    action = "accept" if args.accept else "reject"
    done = client.post(
        _path(args.id) + "confirm/", {"action": action, "comment": args.comment or ""}
    )
    output(
        {
            "result": "success",
            "message": f"Work request {'accepted' if args.accept else 'rejected'}:"
            f" {absolute(client, done['url'])}",
            "work_request_id": done["id"],
            "status": done["status"],
            "work_request_result": done["result"],
        }
    )


def add_commands(
    subparsers: Any, add: Add, work_request_id: Callable[[str], int]
) -> None:
    """Register the wait-task commands with the `debusine` parser."""
    sign = add(
        subparsers,
        "provide-signature",
        cmd_provide_signature,
        "Sign the upload an externaldebsign work request waits for, and"
        " provide it (only the work request's creator may)",
    )
    sign.formatter_class = argparse.RawDescriptionHelpFormatter
    sign.epilog = (
        "Without --local-file, the upload is downloaded and signed with debsign"
        " (arguments after -- go to debsign).\n"
        "examples:\n"
        "  debusine provide-signature 123 -- -kDEADBEEF\n"
        "  debusine provide-signature 123 --local-file hello_1.0-1_amd64.changes"
    )
    sign.add_argument("id", type=work_request_id, help="work request id")
    sign.add_argument(
        "--local-file",
        metavar="FILE.changes",
        help="a .changes you already signed (its signed .dsc and .buildinfo"
        " are taken from beside it if there)",
    )
    sign.add_argument(
        "debsign_args",
        # "*", not REMAINDER: options such as --local-file may follow the id.
        nargs="*",
        metavar="-- DEBSIGN_ARGS",
        help="arguments for debsign, e.g. -kKEYID",
    )

    confirm = add(
        subparsers,
        "confirm-work-request",
        cmd_confirm_work_request,
        "Accept or reject a workflow's confirm step (workspace contributors"
        " and owners); the decision and comment are recorded in its output data",
    )
    confirm.add_argument("id", type=work_request_id, help="work request id")
    decision = confirm.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--accept", action="store_true", help="let the workflow go on (success)"
    )
    decision.add_argument(
        "--reject",
        action="store_true",
        help="stop what depends on it (the step fails)",
    )
    confirm.add_argument("--comment", help="why: recorded with the decision")
