"""The `packageupload` server task: a real FTP server and a real queue directory."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from debusine import models
from debusine.models import TaskType, WorkRequest, WorkRequestResult
from debusine.orchestration.package_upload import DirectoryQueue, shown_target
from debusine.orchestration.server_tasks import (
    connect_server_worker,
    run_pending_server_tasks,
)
from debusine.storage import default_store, get_or_create_file, record_in_store
from debusine.work_requests import create_work_request
from tests import factories

with warnings.catch_warnings():
    # pyftpdlib is built on asyncore and asynchat, deprecated since Python 3.6.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer  # type: ignore[import-untyped]
    from pyftpdlib.handlers import FTPHandler  # type: ignore[import-untyped]
    from pyftpdlib.servers import FTPServer  # type: ignore[import-untyped]

UPLOAD_FILES = {
    "hello_1.0.dsc": b"a signed dsc\n",
    "hello_1.0.tar.xz": b"\xfd7zXZ\x00 not really" * 1000,
    "hello_1.0_amd64.deb": b"!<arch>\n" + bytes(range(256)) * 40,
    "hello_1.0_amd64.changes": b"a signed changes\n",
}
CHANGES = "hello_1.0_amd64.changes"
IN_ORDER = [
    "hello_1.0.dsc",
    "hello_1.0.tar.xz",
    "hello_1.0_amd64.deb",
    CHANGES,
]


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return cast(models.Workspace, factories.WorkspaceFactory())


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    return {"debusine.data_dir": str(tmp_path / "data")}


def stored_artifact(
    db_session: Session,
    settings: dict[str, Any],
    workspace: models.Workspace,
    files: dict[str, bytes],
    category: str = "debian:upload",
) -> models.Artifact:
    """An artifact whose files are really in the instance's store."""
    file_store, store = default_store(db_session, settings, workspace.scope)
    artifact: models.Artifact = factories.ArtifactFactory(  # type: ignore[assignment]
        workspace=workspace,
        category=category,
        data={"type": "dpkg", "changes_fields": {"Source": "hello"}},
    )
    for name, content in files.items():
        digest = hashlib.sha256(content)
        store.add_stream(io.BytesIO(content), digest.hexdigest(), len(content))
        file = get_or_create_file(db_session, digest.digest(), len(content))
        record_in_store(db_session, file_store, file)
        artifact.files.append(
            models.FileInArtifact(path=name, file=file, complete=True)
        )
    db_session.flush()
    return artifact


def upload_task(
    db_session: Session,
    workspace: models.Workspace,
    artifact: models.Artifact,
    target: str,
    delayed_days: int | None = None,
) -> WorkRequest:
    data: dict[str, Any] = {"input": {"upload": artifact.id}, "target": target}
    if delayed_days is not None:
        data["delayed_days"] = delayed_days
    return create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.SERVER,
        task_name="packageupload",
        task_data=data,
        created_by=None,
    )


def run(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    *work_requests: WorkRequest,
) -> None:
    db_session.flush()
    with session_factory.begin() as session:
        connect_server_worker(session)
    done = run_pending_server_tasks(session_factory, settings)
    assert sorted(done) == sorted(w.id for w in work_requests)
    db_session.expire_all()


def output(work_request: WorkRequest) -> dict[str, Any]:
    assert work_request.output_data is not None
    return work_request.output_data


# --- a real FTP server -----------------------------------------------------------


@dataclass
class Ftpd:
    port: int
    root: Path
    received: list[str] = field(default_factory=list)

    def url(self, credentials: str = "", path: str = "/queue/") -> str:
        return f"ftp://{credentials}127.0.0.1:{self.port}{path}"


@pytest.fixture
def ftpd(tmp_path: Path) -> Iterator[Ftpd]:
    """pyftpdlib on 127.0.0.1, in a thread: anonymous may write, `reader`
    may only read, `uploader` (password `s3cret`) may write."""
    root = tmp_path / "ftp"
    (root / "queue" / "DELAYED" / "3-day").mkdir(parents=True)
    authorizer = DummyAuthorizer()
    with warnings.catch_warnings():
        # As an upload queue does: anonymous users may write.
        warnings.simplefilter("ignore", RuntimeWarning)
        authorizer.add_anonymous(str(root), perm="elrw")
    authorizer.add_user("uploader", "s3cret", str(root), perm="elrw")
    authorizer.add_user("reader", "r", str(root), perm="elr")
    received: list[str] = []

    class Handler(FTPHandler):
        def on_file_received(self, file: str) -> None:
            received.append(str(Path(file).relative_to(root)))

    Handler.authorizer = authorizer
    Handler.banner = "test ftpd"
    server = FTPServer(("127.0.0.1", 0), Handler)
    port = server.socket.getsockname()[1]
    running = threading.Event()
    running.set()

    def serve() -> None:
        while running.is_set():
            server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        server.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Ftpd(port, root, received)
    finally:
        running.clear()
        thread.join(timeout=10)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- ftp ------------------------------------------------------------------------


def test_ftp_upload_sends_every_file_changes_last(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    task = upload_task(db_session, workspace, artifact, ftpd.url())

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    assert ftpd.received == [f"queue/{name}" for name in IN_ORDER]
    # The scheduler resolved the lookup: the task uses its result.
    assert task.dynamic_task_data is not None
    assert task.dynamic_task_data["upload_id"] == artifact.id
    for name, content in UPLOAD_FILES.items():
        assert (ftpd.root / "queue" / name).read_bytes() == content
    data = dict(output(task))
    data.pop("runtime_statistics", None)
    assert data == {
        "target": ftpd.url(),
        "directory": "/queue/",
        "delayed_days": None,
        "files": IN_ORDER,
        "uploaded": IN_ORDER,
    }


def test_ftp_delayed_upload_goes_to_its_delayed_directory(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    target = ftpd.url("uploader:s3cret@")
    task = upload_task(db_session, workspace, artifact, target, delayed_days=3)

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.SUCCESS, task.output_data
    assert ftpd.received == [f"queue/DELAYED/3-day/{name}" for name in IN_ORDER]
    assert output(task)["directory"] == "/queue/DELAYED/3-day"
    # The password goes nowhere the user's readers see.
    assert output(task)["target"] == ftpd.url("uploader@")
    assert "s3cret" not in repr(task.output_data)


def test_ftp_missing_delayed_directory_is_a_failure(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    task = upload_task(db_session, workspace, artifact, ftpd.url(), delayed_days=7)

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.FAILURE
    [error] = output(task)["errors"]
    assert error["code"] == "directory-missing"
    assert "/queue/DELAYED/7-day" in error["message"]
    assert ftpd.received == []


def test_ftp_refused_login_is_a_failure(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    target = ftpd.url("uploader:wrong@")
    task = upload_task(db_session, workspace, artifact, target)

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.FAILURE
    [error] = output(task)["errors"]
    assert error["code"] == "login-refused"
    assert "'uploader'" in error["message"]
    assert "wrong" not in repr(task.output_data)
    assert output(task)["uploaded"] == []
    assert ftpd.received == []


def test_ftp_refused_file_is_a_failure(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    task = upload_task(db_session, workspace, artifact, ftpd.url("reader:r@"))

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.FAILURE
    [error] = output(task)["errors"]
    assert error["code"] == "file-refused"
    assert "hello_1.0.dsc" in error["message"]
    assert output(task)["uploaded"] == []
    assert not (ftpd.root / "queue" / CHANGES).exists()


def test_ftp_unreachable_host_is_a_failure(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    port = closed_port()
    task = upload_task(db_session, workspace, artifact, f"ftp://127.0.0.1:{port}/q/")

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.FAILURE
    [error] = output(task)["errors"]
    assert error["code"] == "connection-failed"
    assert f"127.0.0.1 port {port}" in error["message"]


# --- file:// ----------------------------------------------------------------------


def test_file_queue_gets_every_file_and_no_temporary_one(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    tmp_path: Path,
) -> None:
    queue = tmp_path / "queue"
    (queue / "DELAYED" / "0-day").mkdir(parents=True)
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    now = upload_task(db_session, workspace, artifact, f"file://{queue}/")
    delayed = upload_task(
        db_session, workspace, artifact, f"file://{queue}/", delayed_days=0
    )

    run(db_session, session_factory, settings, now, delayed)

    assert now.result == WorkRequestResult.SUCCESS, now.output_data
    assert delayed.result == WorkRequestResult.SUCCESS, delayed.output_data
    for directory in (queue, queue / "DELAYED" / "0-day"):
        files = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
        assert files == UPLOAD_FILES
        assert all((directory / name).stat().st_mode & 0o777 == 0o644 for name in files)
    assert output(now)["uploaded"] == IN_ORDER
    assert output(now)["target"] == f"file://{queue}/"
    assert output(delayed)["directory"] == f"{queue}/DELAYED/0-day"


def test_file_queue_missing_directory_is_a_failure(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    tmp_path: Path,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    task = upload_task(db_session, workspace, artifact, f"file://{tmp_path}/nowhere/")

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.FAILURE
    assert output(task)["errors"] == [
        {
            "code": "directory-missing",
            "message": f"The upload queue directory {tmp_path}/nowhere/ does not exist",
        }
    ]


def test_directory_queue_not_finished_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.write_bytes(b"content")
    queue_dir = tmp_path / "queue"
    queue_dir.mkdir()
    queue = DirectoryQueue(str(queue_dir))
    queue.send("hello_1.0.dsc", source)
    # Written, under a name the queue daemon ignores.
    [temporary] = queue_dir.iterdir()
    assert temporary.name.startswith(".")
    assert temporary.read_bytes() == b"content"

    queue.close()

    assert list(queue_dir.iterdir()) == []
    assert queue.sent == []


# --- what is wrong on this side: errors ------------------------------------------


def test_sftp_is_not_supported_yet(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    task = upload_task(db_session, workspace, artifact, "sftp://upload.example.org/q/")

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.ERROR
    [error] = output(task)["errors"]
    assert error["code"] == "sftp-not-supported"


def test_only_a_debian_upload_with_one_changes_is_sent(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    tmp_path: Path,
) -> None:
    source = stored_artifact(
        db_session,
        settings,
        workspace,
        {"hello_1.0.dsc": b"dsc"},
        category="debian:source-package",
    )
    no_changes = stored_artifact(
        db_session, settings, workspace, {"hello_1.0.dsc": b"dsc"}
    )
    target = f"file://{tmp_path}/"
    tasks = [
        upload_task(db_session, workspace, artifact, target)
        for artifact in (source, no_changes)
    ]

    run(db_session, session_factory, settings, *tasks)

    for task in tasks:
        assert task.result == WorkRequestResult.ERROR
        assert output(task)["errors"][0]["code"] == "invalid-upload"
    assert "debian:source-package" in output(tasks[0])["errors"][0]["message"]
    assert "0 .changes" in output(tasks[1])["errors"][0]["message"]


def test_a_file_missing_from_the_store_is_an_error_before_sending(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: dict[str, Any],
    workspace: models.Workspace,
    ftpd: Ftpd,
) -> None:
    artifact = stored_artifact(db_session, settings, workspace, UPLOAD_FILES)
    artifact.files.append(
        models.FileInArtifact(
            path="hello_1.0.buildinfo", file=factories.FileFactory(), complete=True
        )
    )
    task = upload_task(db_session, workspace, artifact, ftpd.url())

    run(db_session, session_factory, settings, task)

    assert task.result == WorkRequestResult.ERROR
    [error] = output(task)["errors"]
    assert error["code"] == "file-missing"
    assert "hello_1.0.buildinfo" in error["message"]
    assert ftpd.received == []


def test_shown_target_drops_only_the_password() -> None:
    from urllib.parse import urlsplit

    assert (
        shown_target(urlsplit("ftp://u:p@ftp.example.org:2121/q/"))
        == "ftp://u@ftp.example.org:2121/q/"
    )
    assert shown_target(urlsplit("ftp://[::1]/q/")) == "ftp://[::1]/q/"
    assert shown_target(urlsplit("file:///srv/q/")) == "file:///srv/q/"
