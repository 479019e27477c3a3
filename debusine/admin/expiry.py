"""`delete-expired`: delete expired artifacts, unused files and expired tokens."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from debusine.admin.common import CommandError, Output, add_command, after_commit
from debusine.orchestration.expiry import (
    STALE_UPLOAD_HOURS_SETTING,
    delete_expired,
    remove_after_commit,
    stale_upload_age,
)


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
        "committed) and the expired user tokens; abandon the partial uploads "
        "idle for longer than --stale-upload-hours (removing their temporary "
        "files once committed). Run it daily.",
        epilog="examples:\n  debusine-admin delete-expired --dry-run\n"
        "  debusine-admin delete-expired",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="only say what would be deleted; change nothing",
    )
    parser.add_argument(
        "--stale-upload-hours",
        type=float,
        metavar="HOURS",
        help="abandon partial uploads idle for longer than this (default: the "
        f"ini file's {STALE_UPLOAD_HOURS_SETTING}, else 24)",
    )


def delete_expired_command(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    settings = dict(getattr(args, "settings", None) or {})
    if args.stale_upload_hours is not None:
        settings[STALE_UPLOAD_HOURS_SETTING] = args.stale_upload_hours
    try:
        max_age = stale_upload_age(settings)
    except ValueError as error:
        raise CommandError(str(error)) from None
    savepoint = session.begin_nested() if args.dry_run else None
    report = delete_expired(session, stale_upload_age=max_age)
    if savepoint is not None:
        savepoint.rollback()
    else:

        def remove_files() -> None:
            remove_after_commit(report)

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
    hours = max_age.total_seconds() / 3600
    out.line(
        f"{verb} {len(report.uploads)} partial uploads idle for more than "
        f"{hours:g} hours."
    )
    if report.artifacts:
        out.line("Artifacts: " + ", ".join(str(i) for i in report.artifacts))
