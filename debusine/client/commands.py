"""The client's commands: each takes the parsed arguments and an API client.

Every command prints YAML on stdout (as upstream's client does) and raises
`ClientError` for anything it can explain in one line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin

import yaml

from debusine.artifacts.files import content_type_for, size_and_sha256
from debusine.client.download import Downloader, safe_destination, should_use_tarball
from debusine.client.errors import ClientError
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact


def output(data: Any) -> None:
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def absolute(client: APIClient, url: str) -> str:
    return urljoin(client.server.api_url, url)


def _artifact_id(value: int) -> str:
    return str(int(value))


# Artifacts --------------------------------------------------------------


def _read_data(source: str | None) -> dict[str, Any]:
    """The YAML (or JSON) mapping in `source` (a file, or `-` for stdin)."""
    if source is None:
        return {}
    name = "standard input" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ClientError(f"cannot read {name}: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ClientError(
            f"{name} is not valid YAML: {' '.join(str(error).split())}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClientError(f"{name} must hold a mapping (key: value), not a list/value")
    return data


def _describe_file(local: Path) -> dict[str, Any]:
    try:
        size, sha256 = size_and_sha256(local)
    except OSError as error:
        raise ClientError(f"cannot read {local}: {error.strerror}") from None
    return {
        "size": size,
        "checksums": {"sha256": sha256},
        "type": "file",
        "content_type": content_type_for(local.name),
    }


def upload_paths(uploads: Iterable[str], base_directory: str | None) -> dict[str, Path]:
    """Artifact path -> local file for `--upload` (and `--upload-base-directory`).

    With a base directory, a file's artifact path is its path relative to it
    (relative names are taken inside it); without one, a relative name is kept
    as given and an absolute one becomes its base name.
    """
    base = Path(base_directory) if base_directory else None
    if base is not None and not base.is_dir():
        raise ClientError(f"--upload-base-directory {base}: not a directory")
    paths: dict[str, Path] = {}
    for name in uploads:
        given = Path(name)
        if base is not None:
            local = given if given.is_absolute() else base / given
            try:
                relative = local.resolve().relative_to(base.resolve())
            except ValueError:
                raise ClientError(
                    f"{name} is not inside --upload-base-directory {base}"
                ) from None
            artifact_path = relative.as_posix()
        else:
            local = given
            normal = PurePosixPath(given.as_posix())
            if given.is_absolute() or ".." in normal.parts:
                artifact_path = given.name
            else:
                artifact_path = normal.as_posix()
        if not local.is_file():
            raise ClientError(f"{name}: no such file")
        if artifact_path in paths:
            raise ClientError(f"two files would be stored as {artifact_path}")
        paths[artifact_path] = local
    return paths


def _expire_at(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ClientError(
            f"--expire-at {value!r} is not an ISO 8601 date/time "
            "(e.g. 2030-01-31 or 2030-01-31T12:00:00+00:00)"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # local time, as the user typed it
    return when.isoformat()


def _created(client: APIClient, artifact: dict[str, Any], uploaded: int) -> dict:
    return {
        "result": "success",
        "message": f"New artifact created: {absolute(client, artifact['url'])}",
        "artifact_id": artifact["id"],
        "files_to_upload": uploaded,
        "expire_at": artifact.get("expire_at"),
    }


def cmd_create_artifact(args: argparse.Namespace, client: APIClient) -> None:
    data = _read_data(args.data)
    local = upload_paths(args.upload or [], args.upload_base_directory)
    body: dict[str, Any] = {"category": args.category}
    if args.workspace:
        body["workspace"] = args.workspace
    body.update(
        {
            "files": {path: _describe_file(f) for path, f in sorted(local.items())},
            "data": data,
            "work_request": None,
            "expire_at": _expire_at(args.expire_at),
        }
    )
    with progress_bars() as progress:
        artifact = create_artifact(client, body, local, Uploader(client, progress))
    output(_created(client, artifact, len(artifact["files_to_upload"])))


def cmd_import_debian_artifact(args: argparse.Namespace, client: APIClient) -> None:
    # The parsers come with python-debian and the category schemas; they are
    # imported only by this command.
    from debusine.artifacts import local as parsers

    path = Path(args.path)
    if not path.is_file():
        raise ClientError(f"{path}: no such file")
    try:
        if path.name.endswith(".changes"):
            group = parsers.upload_from_changes(path)
            artifacts, relations = group.artifacts, group.relations
        elif path.name.endswith(".dsc"):
            artifacts, relations = [parsers.source_package_from_dsc(path)], []
        elif path.name.endswith((".deb", ".udeb", ".ddeb")):
            artifacts, relations = [parsers.binary_package_from_deb(path)], []
        else:
            raise ClientError(
                f"{path}: cannot import: give a .changes, .dsc or .deb file"
            )
        bodies = [a.create_request(workspace=args.workspace) for a in artifacts]
    except parsers.InvalidLocalArtifact as error:
        raise ClientError(str(error)) from None
    if args.expire_at:
        for body in bodies:
            body["expire_at"] = _expire_at(args.expire_at)

    created: list[dict[str, Any]] = []
    with progress_bars() as progress:
        uploader = Uploader(client, progress)
        for artifact, body in zip(artifacts, bodies, strict=True):
            created.append(create_artifact(client, body, artifact.files, uploader))
    made: dict[str, list[dict[str, Any]]] = {}
    for relation in relations:
        kind = str(relation.type.value)
        reply = client.post(
            "/artifact-relation/",
            {
                "artifact": created[relation.artifact]["id"],
                "target": created[relation.target]["id"],
                "type": kind,
            },
            expected=(200, 201),
        )
        made.setdefault(kind.replace("-", "_"), []).append(
            {
                "artifact_id": created[relation.target]["id"],
                "category": created[relation.target]["category"],
                "relation_id": reply.get("id") if isinstance(reply, dict) else None,
            }
        )
    result = _created(client, created[0], len(created[0]["files_to_upload"]))
    result["category"] = created[0]["category"]
    result.update(made)
    output(result)


def cmd_show_artifact(args: argparse.Namespace, client: APIClient) -> None:
    output(client.get(f"/artifact/{_artifact_id(args.id)}/"))


def cmd_show_artifact_relations(args: argparse.Namespace, client: APIClient) -> None:
    key = "target_artifact" if args.reverse else "artifact"
    output(client.get("/artifact-relation/", params={key: args.id}))


def cmd_download_artifact(args: argparse.Namespace, client: APIClient) -> None:
    # No trailing slash, as upstream: the server redirects (301) to the slash.
    artifact = client.get(f"/artifact/{_artifact_id(args.id)}")
    if not isinstance(artifact, dict) or not isinstance(artifact.get("files"), dict):
        raise ClientError(f"the server's answer about artifact {args.id} is invalid")
    target = Path(args.target_directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ClientError(f"cannot create {target}: {error.strerror}") from None
    files: dict[str, Any] = artifact["files"]
    result: dict[str, Any] = {"result": "success", "artifact_id": artifact["id"]}
    with progress_bars() as progress:
        downloader = Downloader(client, progress)
        if args.tarball:
            destination = target / f"artifact-{artifact['id']}.tar.gz"
            downloader.save_tarball(artifact["download_tar_gz_url"], destination)
            result["tarball"] = str(destination)
        elif should_use_tarball(files):
            downloader.extract_tarball(artifact["download_tar_gz_url"], target, files)
            result["files"] = sorted(files)
        else:
            for path, spec in sorted(files.items()):
                downloader.download_file(
                    spec["url"], safe_destination(target, path), spec
                )
            result["files"] = sorted(files)
    result["target_directory"] = str(target)
    output(result)


# Workspaces -------------------------------------------------------------


def cmd_list_workspaces(args: argparse.Namespace, client: APIClient) -> None:
    output(list(client.paginated("/workspace/")))


def _chain_entry(text: str) -> dict[str, Any]:
    if text.isdigit():
        return {"id": int(text)}
    scope, slash, name = text.rpartition("/")
    if slash and (not scope or not name or "/" in scope):
        raise ClientError(f"{text!r}: name a workspace as WORKSPACE or SCOPE/WORKSPACE")
    return {"scope": scope or None, "workspace": name}


def _same(entry: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if "id" in wanted:
        return bool(entry.get("id") == wanted["id"])
    if entry.get("workspace") != wanted["workspace"]:
        return False
    return wanted["scope"] is None or entry.get("scope") == wanted["scope"]


def cmd_workspace_inheritance(args: argparse.Namespace, client: APIClient) -> None:
    path = f"/workspace/{quote(args.workspace, safe='')}/inheritance/"
    current = client.get(path)
    if not isinstance(current, dict) or not isinstance(current.get("chain"), list):
        raise ClientError(f"the server's answer to GET {path} is not a chain")
    chain: list[dict[str, Any]] = list(current["chain"])
    changed = False
    if args.set is not None:
        chain = [_chain_entry(text) for text in args.set]
        changed = True
    for text in args.remove or []:
        wanted = _chain_entry(text)
        kept = [entry for entry in chain if not _same(entry, wanted)]
        if len(kept) == len(chain):
            raise ClientError(f"{text} is not in the inheritance chain")
        chain, changed = kept, True
    if args.prepend:
        chain = [_chain_entry(text) for text in args.prepend] + chain
        changed = True
    if args.append:
        chain = chain + [_chain_entry(text) for text in args.append]
        changed = True
    if changed:
        body = [
            {key: value for key, value in entry.items() if value is not None}
            for entry in chain
        ]
        current = client.post(path, {"chain": body})
    output(current)


# Collections and lookups ------------------------------------------------


def cmd_list_collections(args: argparse.Namespace, client: APIClient) -> None:
    params = {
        key: value
        for key, value in (("workspace", args.workspace), ("category", args.category))
        if value
    }
    output(list(client.paginated("/collection/", params)))


def cmd_show_collection(args: argparse.Namespace, client: APIClient) -> None:
    collection = client.get(f"/collection/{int(args.id)}/")
    if args.items:
        params: dict[str, str] = {}
        if args.name_startswith:
            params["name__startswith"] = args.name_startswith
        if args.include_removed:
            params["include_removed"] = "1"
        collection["items"] = list(
            client.paginated(f"/collection/{int(args.id)}/items/", params)
        )
    output(collection)


def cmd_lookup(args: argparse.Namespace, client: APIClient) -> None:
    lookup: Any
    if args.multiple:
        try:
            lookup = yaml.safe_load(args.lookup)
        except yaml.YAMLError as error:
            raise ClientError(
                f"the multiple lookup is not valid YAML: {' '.join(str(error).split())}"
            ) from None
        if not isinstance(lookup, dict | list):
            raise ClientError("a multiple lookup is a YAML mapping or list")
    else:
        lookup = int(args.lookup) if args.lookup.isdigit() else args.lookup
    body: dict[str, Any] = {"lookup": lookup}
    for key in ("workspace", "expect_type", "default_category"):
        if getattr(args, key):
            body[key] = getattr(args, key)
    kind = "multiple" if args.multiple else "single"
    output(client.post(f"/lookup/{kind}/", body))
