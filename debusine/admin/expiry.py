"""`delete-expired`: delete expired artifacts, unused files and expired tokens."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from debusine.admin.common import Output, add_command, after_commit
from debusine.orchestration.expiry import delete_expired, remove_stored_files


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "delete-expired",
        delete_expired_command,
        help="delete expired artifacts, unused files and expired tokens",
        description="Delete the artifacts whose expiration delay has passed, "
        "unless a retained collection item or a kept artifact still needs "
        "them; apply the collections' retention periods; delete the files no "
        "artifact uses any more (from the database, then from the stores once "
        "committed) and the expired user tokens. Run it daily.",
        epilog="examples:\n  debusine-admin delete-expired --dry-run\n"
        "  debusine-admin delete-expired",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only say what would be deleted; change nothing",
    )


def delete_expired_command(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    savepoint = session.begin_nested() if args.dry_run else None
    report = delete_expired(session)
    if savepoint is not None:
        savepoint.rollback()
    else:
        files = report.files

        def remove_files() -> None:
            remove_stored_files(files)

        after_commit(session, remove_files)
    verb = "Would delete" if args.dry_run else "Deleted"
    retention = report.retention
    out.line(
        f"{verb} {len(report.artifacts)} artifacts, {len(report.files)} stored "
        f"files and {report.tokens} expired tokens."
    )
    if retention is not None:
        out.line(
            f"{verb} {retention.deleted} collection items past their "
            f"retention, and unlinked {retention.unlinked} artifacts from "
            "removed items."
        )
    if report.artifacts:
        out.line("Artifacts: " + ", ".join(str(i) for i in report.artifacts))
