# PYTHON_ARGCOMPLETE_OK
"""`debusine`: the command-line client of a debusine server's JSON API.

It needs only requests, argcomplete, rich and PyYAML (and python-debian for
`import-debian-artifact`): it never imports the server's stack.

Exit status: 0 success, 2 bad usage, 3 an error explained in one line
(`debusine: error: ...`): a missing or invalid configuration, a server that
cannot be reached, or the server's own error (its title and detail).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from typing import Any

import argcomplete

from debusine.client import commands, wait_tasks, work_requests, workflows
from debusine.client.config import ENVIRONMENT_VARIABLE, config_path, load_server
from debusine.client.errors import ClientError
from debusine.client.http import APIClient

EXIT_ERROR = 3
EXIT_INTERNAL = 1

Command = Callable[[argparse.Namespace, APIClient], None]


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (a positive integer)")
    return int(text)


def _add(
    subparsers: Any, name: str, command: Command, help_text: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=help_text
    )
    parser.set_defaults(command=command)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="debusine",
        description="Command-line client for a debusine server's JSON API.",
        epilog=(
            "Configuration: ~/.config/debusine/client/config.ini (or --config, "
            f"or ${ENVIRONMENT_VARIABLE}) with [General] default-server = NAME "
            "and [server:NAME] api-url, scope and token."
        ),
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"configuration file (default: ${ENVIRONMENT_VARIABLE}, else "
        "~/.config/debusine/client/config.ini)",
    )
    parser.add_argument(
        "--server", metavar="NAME", help="the [server:NAME] section to use"
    )
    parser.add_argument(
        "-d",
        "--debug",
        action="store_true",
        help="show a traceback for unexpected internal errors",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    subparsers.required = True

    create = _add(
        subparsers,
        "create-artifact",
        commands.cmd_create_artifact,
        "Create an artifact and upload its files",
    )
    create.add_argument("category", help="artifact category, e.g. debusine:test")
    create.add_argument("--workspace", help="workspace (default: the scope's default)")
    create.add_argument(
        "--data", metavar="FILE", help="artifact data as a YAML file, or - for stdin"
    )
    create.add_argument(
        "--upload", nargs="+", metavar="FILE", help="files to add to the artifact"
    )
    create.add_argument(
        "--upload-base-directory",
        metavar="DIR",
        help="store the uploaded files under their path relative to DIR",
    )
    create.add_argument(
        "--expire-at", metavar="DATETIME", help="ISO 8601 expiry date/time"
    )

    import_ = _add(
        subparsers,
        "import-debian-artifact",
        commands.cmd_import_debian_artifact,
        "Import a .changes (with its source and binaries), a .dsc or a .deb",
    )
    import_.add_argument("path", metavar="PATH", help=".changes, .dsc or .deb file")
    import_.add_argument("--workspace", help="workspace (default: the scope's default)")
    import_.add_argument(
        "--expire-at", metavar="DATETIME", help="ISO 8601 expiry date/time"
    )

    download = _add(
        subparsers,
        "download-artifact",
        commands.cmd_download_artifact,
        "Download the files of an artifact",
    )
    download.add_argument("id", type=_positive_int, help="artifact id")
    download.add_argument(
        "--target-directory",
        metavar="DIR",
        default=".",
        help="where to write the files (default: the current directory)",
    )
    download.add_argument(
        "--tarball",
        action="store_true",
        help="save all files as artifact-ID.tar.gz instead of extracting them",
    )

    show = _add(
        subparsers, "show-artifact", commands.cmd_show_artifact, "Show an artifact"
    )
    show.add_argument("id", type=_positive_int, help="artifact id")

    relations = _add(
        subparsers,
        "show-artifact-relations",
        commands.cmd_show_artifact_relations,
        "Show the relations of an artifact",
    )
    relations.add_argument("id", type=_positive_int, help="artifact id")
    relations.add_argument(
        "--reverse",
        action="store_true",
        help="show the relations that point to the artifact instead",
    )

    _add(
        subparsers,
        "list-workspaces",
        commands.cmd_list_workspaces,
        "List the workspaces of the scope that you may see",
    )

    inheritance = _add(
        subparsers,
        "workspace-inheritance",
        commands.cmd_workspace_inheritance,
        "Show or change the workspaces a workspace inherits from",
    )
    inheritance.add_argument("workspace", help="workspace name")
    for option, what in (
        ("--set", "replace the chain with these workspaces"),
        ("--append", "add these workspaces at the end of the chain"),
        ("--prepend", "add these workspaces at the start of the chain"),
        ("--remove", "remove these workspaces from the chain"),
    ):
        inheritance.add_argument(
            option,
            nargs="*" if option == "--set" else "+",
            metavar="[SCOPE/]WORKSPACE",
            help=f"{what} (a name, SCOPE/NAME or an id)",
        )
    collections = _add(
        subparsers,
        "list-collections",
        commands.cmd_list_collections,
        "List the collections of a workspace",
    )
    collections.add_argument(
        "--workspace", help="workspace (default: the scope's default)"
    )
    collections.add_argument("--category", help="only collections of this category")

    collection = _add(
        subparsers,
        "show-collection",
        commands.cmd_show_collection,
        "Show a collection (and its items)",
    )
    collection.add_argument("id", type=_positive_int, help="collection id")
    collection.add_argument(
        "--items", action="store_true", help="list the collection's items too"
    )
    collection.add_argument(
        "--name-startswith", metavar="PREFIX", help="only items named PREFIX..."
    )
    collection.add_argument(
        "--include-removed",
        action="store_true",
        help="include removed items (the collection's history)",
    )

    lookup = _add(
        subparsers,
        "lookup",
        commands.cmd_lookup,
        "Resolve a lookup (e.g. 123@artifacts, name@category/item)",
    )
    lookup.add_argument("lookup", help="the lookup; with --multiple, YAML")
    lookup.add_argument(
        "--multiple",
        action="store_true",
        help="a multiple lookup (a YAML mapping or list)",
    )
    lookup.add_argument("--workspace", help="workspace to resolve the lookup in")
    lookup.add_argument(
        "--expect-type",
        choices=["bare", "artifact", "artifact-or-promise", "collection", "any"],
        help="what the lookup must resolve to",
    )
    lookup.add_argument(
        "--default-category", metavar="CATEGORY", help="category of name@ lookups"
    )
    work_requests.add_commands(subparsers, _add, _positive_int)
    workflows.add_commands(subparsers, _add)
    wait_tasks.add_commands(subparsers, _add, _positive_int)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        server = load_server(config_path(args.config), args.server)
        args.command(args, APIClient(server))
    except ClientError as error:
        print(f"debusine: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("debusine: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"debusine: internal error: {type(error).__name__}: {error} "
                "(run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
    return 0
