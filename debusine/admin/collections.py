"""`create-collection`, `edit-collection`, `delete-collection`."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from debusine.admin.common import (
    CommandError,
    Output,
    add_command,
    flush_unique,
    get_workspace,
    non_negative_int,
    read_mapping,
    scoped_name,
)
from debusine.collections import registered_categories
from debusine.collections.data import validate_collection_data
from debusine.models import Collection, CollectionItem, Workspace
from debusine.models.collections import RetainsArtifacts, check_collection_name


def _add_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="the collection's data, a YAML or JSON mapping (`-`: standard "
        "input), e.g. a suite's components, architectures and signing_keys",
    )
    parser.add_argument(
        "--full-history-retention",
        metavar="DAYS",
        type=non_negative_int,
        help="keep removed items with their artifacts this many days",
    )
    parser.add_argument(
        "--metadata-only-retention",
        metavar="DAYS",
        type=non_negative_int,
        help="then keep their metadata (without artifacts) this many more days",
    )
    parser.add_argument(
        "--retains-artifacts",
        choices=[value.value for value in RetainsArtifacts],
        help="whether items keep their artifacts from expiring: always, never, "
        "or while the owning workflow runs",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-collection",
        create_collection,
        help="create a collection in a workspace",
        description="Create the collection NAME of CATEGORY in SCOPE/WORKSPACE. "
        "Singleton categories (debian:archive, debian:package-build-logs, "
        "debusine:task-history) are named `_` and made with each workspace. "
        "Without retention periods, removed items are kept forever.",
        epilog="examples:\n"
        "  debusine-admin create-collection debian/developers bookworm "
        "debian:suite --data suite.yaml\n"
        "  echo '{old_items_to_keep: 3}' | debusine-admin create-collection "
        "debian/developers sid-qa debian:qa-results --data -",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    parser.add_argument("name", metavar="NAME", help="the collection's name")
    parser.add_argument(
        "category", metavar="CATEGORY", help="its category, e.g. debian:suite"
    )
    _add_settings(parser)

    parser = add_command(
        subparsers,
        "edit-collection",
        edit_collection,
        help="change a collection's data or retention",
        description="Change the data (replaced as a whole), the retention "
        "periods or the artifact retention of CATEGORY collection NAME in "
        "SCOPE/WORKSPACE. A retention of 0 days clears it (keep forever).",
        epilog="example:\n"
        "  debusine-admin edit-collection debian/developers bookworm "
        "debian:suite --full-history-retention 30",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    parser.add_argument("name", metavar="NAME", help="the collection's name")
    parser.add_argument("category", metavar="CATEGORY", help="its category")
    _add_settings(parser)

    parser = add_command(
        subparsers,
        "delete-collection",
        delete_collection,
        help="delete an empty collection",
        description="Delete CATEGORY collection NAME of SCOPE/WORKSPACE. A "
        "collection with active items is kept unless --force is given; its "
        "artifacts are not deleted (they expire on their own).",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    parser.add_argument("name", metavar="NAME", help="the collection's name")
    parser.add_argument("category", metavar="CATEGORY", help="its category")
    parser.add_argument(
        "--force", action="store_true", help="delete it even with active items"
    )


def _get_collection(
    session: Session, workspace: Workspace, name: str, category: str
) -> Collection:
    collection = session.scalar(
        select(Collection).where(
            Collection.workspace_id == workspace.id,
            Collection.name == name,
            Collection.category == category,
        )
    )
    if collection is None:
        raise CommandError(
            f"no {category} collection {name!r} in workspace {workspace.full_name}"
        )
    return collection


def _days(value: int | None) -> dt.timedelta | None:
    return dt.timedelta(days=value) if value else None


def _apply_settings(args: argparse.Namespace, collection: Collection) -> None:
    if args.data is not None:
        collection.data = validate_collection_data(
            collection.category, read_mapping(args.data)
        )
    if args.full_history_retention is not None:
        collection.full_history_retention_period = _days(args.full_history_retention)
    if args.metadata_only_retention is not None:
        collection.metadata_only_retention_period = _days(args.metadata_only_retention)
    if args.retains_artifacts is not None:
        collection.retains_artifacts = RetainsArtifacts(args.retains_artifacts)


def create_collection(args: argparse.Namespace, session: Session, out: Output) -> None:
    workspace = get_workspace(session, *args.workspace)
    known = registered_categories()
    if args.category not in known:
        raise CommandError(
            f"unknown collection category {args.category!r}; known: " + ", ".join(known)
        )
    check_collection_name(args.name, args.category)
    message = (
        f"a {args.category} collection {args.name!r} already exists in "
        f"workspace {workspace.full_name}"
    )
    exists = session.scalar(
        select(Collection.id).where(
            Collection.workspace_id == workspace.id,
            Collection.name == args.name,
            Collection.category == args.category,
        )
    )
    if exists is not None:
        raise CommandError(message)
    collection = Collection(workspace=workspace, name=args.name, category=args.category)
    _apply_settings(args, collection)
    session.add(collection)
    flush_unique(session, message)
    out.line(f"Created {args.category} collection {args.name} in {workspace.full_name}")


def edit_collection(args: argparse.Namespace, session: Session, out: Output) -> None:
    workspace = get_workspace(session, *args.workspace)
    collection = _get_collection(session, workspace, args.name, args.category)
    _apply_settings(args, collection)
    session.flush()
    out.line(f"Updated {args.category} collection {args.name} in {workspace.full_name}")


def delete_collection(args: argparse.Namespace, session: Session, out: Output) -> None:
    workspace = get_workspace(session, *args.workspace)
    collection = _get_collection(session, workspace, args.name, args.category)
    active = session.scalar(
        select(func.count()).where(
            CollectionItem.parent_collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
        )
    )
    if active and not args.force:
        raise CommandError(
            f"{args.category} collection {args.name!r} has {active} active items;"
            " use --force to delete it anyway"
        )
    # Its own items go with it (the foreign key cascades); items of other
    # collections (an archive's suites) that hold it become history.
    session.execute(
        update(CollectionItem)
        .where(
            CollectionItem.collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
        )
        .values(removed_at=func.now())
    )
    session.delete(collection)
    session.flush()
    out.line(
        f"Deleted {args.category} collection {args.name} from {workspace.full_name}"
    )
