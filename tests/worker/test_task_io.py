"""Worker tasks download their inputs and upload their outputs to a real server."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, pool, select
from sqlalchemy.orm import Session

from debusine.client.config import ServerConfig
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact
from debusine.models import (
    Artifact,
    Scope,
    Token,
    Worker,
    WorkRequest,
    WorkRequestStatus,
    Workspace,
)
from debusine.models.auth import hash_token_key
from tests.bus.conftest import TOKEN as DAEMON_TOKEN
from tests.bus.conftest import RecordingHandlers, wait_for

# The real server of the client tests (one per xdist worker).
from tests.client.conftest import LiveServer
from tests.client.conftest import live_server as live_server
from tests.database import ROOT
from tests.worker.conftest import assignment
from tests.worker.test_daemon import finished, log_of
from worker.daemon import WorkerDaemon

pytestmark = pytest.mark.timeout(120)

IO_TASK_MODULE = "tests.worker.iotask"
GREETING = "hello from the input\n"


@pytest.fixture(scope="module")
def engine(live_server: LiveServer) -> Iterator[Engine]:
    engine = create_engine(
        live_server.env["DEBUSINE_SQLALCHEMY_URL"], poolclass=pool.NullPool
    )
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def admin(live_server: LiveServer) -> APIClient:
    return APIClient(
        ServerConfig("admin", live_server.api_url, "debusine", live_server.token)
    )


@dataclass(frozen=True)
class Assigned:
    """A work request running on a worker whose token is `token`."""

    work_request_id: int
    worker_id: int
    token: str


def assign(engine: Engine, token: str | None = None) -> Assigned:
    """A running work request in debusine/System, on a worker with `token`."""
    key = token or f"io-token-{uuid.uuid4().hex}"
    with Session(engine) as session, session.begin():
        worker = session.scalar(
            select(Worker)
            .join(Token, Worker.token_id == Token.id)
            .where(Token.hash == hash_token_key(key))
        )
        if worker is None:
            worker = Worker(
                name=f"io-worker-{uuid.uuid4().hex[:12]}",
                token=Token(hash=hash_token_key(key), enabled=True),
            )
            session.add(worker)
        workspace = session.scalars(
            select(Workspace)
            .join(Scope)
            .where(Scope.name == "debusine", Workspace.name == "System")
        ).one()
        work_request = WorkRequest(
            workspace=workspace,
            task_name="noop",
            task_data={},
            status=WorkRequestStatus.RUNNING,
            worker=worker,
        )
        session.add(work_request)
        session.flush()
        return Assigned(work_request.id, worker.id, key)


def input_artifact(admin: APIClient, tmp_path: Path) -> int:
    local = tmp_path / "greeting.txt"
    local.write_text(GREETING, encoding="utf-8")
    body = {
        "category": "debusine:test",
        "workspace": "System",
        "files": {
            "greeting.txt": {
                "size": local.stat().st_size,
                "checksums": {"sha256": hashlib.sha256(local.read_bytes()).hexdigest()},
                "type": "file",
            }
        },
        "data": {"kind": "input"},
    }
    with progress_bars(enabled=False) as progress:
        created = create_artifact(
            admin, body, {"greeting.txt": local}, Uploader(admin, progress)
        )
    return int(created["id"])


def run_task(
    tmp_path: Path,
    live_server: LiveServer,
    assigned: Assigned,
    dynamic_task_data: dict[str, Any],
    **task_data: Any,
) -> tuple[dict[str, Any], str]:
    """`python -m worker.run_task` as the daemon starts it: (result, log)."""
    work = tmp_path / "work"
    work.mkdir()
    spec = {
        "work_request_id": assigned.work_request_id,
        "task_name": "testio",
        "task_data": task_data,
        "work_directory": str(work),
        "api_url": live_server.api_url,
        "token": assigned.token,
        "result_file": str(work / "result.json"),
        "dynamic_task_data": dynamic_task_data,
        "scope": "debusine",
        "workspace": "System",
        "task_modules": [IO_TASK_MODULE],
        "sys_path": [str(ROOT)],
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    process = subprocess.run(
        [sys.executable, "-m", "worker.run_task", str(spec_file)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=100,
    )
    result = json.loads((work / "result.json").read_text())
    return result, process.stdout + process.stderr


def output_id(log: str) -> int:
    match = re.search(r"^testio: output (\d+)$", log, re.MULTILINE)
    assert match is not None, log
    return int(match[1])


def check_output(
    admin: APIClient, engine: Engine, artifact_id: int, source: int, work_request: int
) -> None:
    artifact = admin.get(f"/artifact/{artifact_id}/")
    assert artifact["category"] == "debusine:test"
    assert artifact["workspace"] == "System"
    assert artifact["data"] == {"source": source, "source_category": "debusine:test"}
    assert artifact["files_to_upload"] == []
    contents = {
        path: admin.send("GET", spec["url"]).text
        for path, spec in artifact["files"].items()
    }
    assert contents == {"shout.txt": GREETING.upper(), "nested/copy.txt": GREETING}
    relations = admin.get("/artifact-relation/", params={"artifact": artifact_id})
    assert [(r["target"], r["type"]) for r in relations] == [(source, "relates-to")]
    with Session(engine) as session:
        stored = session.get(Artifact, artifact_id)
        assert stored is not None
        assert stored.created_by_work_request_id == work_request


def test_a_task_reads_its_input_and_uploads_an_output(
    tmp_path: Path, live_server: LiveServer, admin: APIClient, engine: Engine
) -> None:
    source = input_artifact(admin, tmp_path)
    assigned = assign(engine)
    result, log = run_task(
        tmp_path, live_server, assigned, {"input_artifact_id": source}
    )
    assert result == {"result": "success"}, log
    artifact_id = output_id(log)
    check_output(admin, engine, artifact_id, source, assigned.work_request_id)
    # The log says what was transferred.
    assert f"input: downloading artifact {source} (debusine:test): 1 file," in log
    assert f"input: artifact {source}: greeting.txt ({len(GREETING)} bytes)" in log
    assert f"output: artifact {artifact_id}: shout.txt ({len(GREETING)} bytes" in log
    assert f"output: artifact {artifact_id} relates-to {source}" in log


def test_a_missing_input_is_an_error_with_a_code(
    tmp_path: Path, live_server: LiveServer, engine: Engine
) -> None:
    assigned = assign(engine)
    result, log = run_task(
        tmp_path, live_server, assigned, {"input_artifact_id": 2_000_000_000}
    )
    assert result["result"] == "error"
    (error,) = result["errors"]
    assert error["code"] == "input-download-failed"
    assert "artifact 2000000000" in error["message"]
    assert "not found" in error["message"]
    assert "input: download failed: artifact 2000000000" in log


def test_no_input_ids_is_an_error_with_a_code(
    tmp_path: Path, live_server: LiveServer, engine: Engine
) -> None:
    result, _ = run_task(tmp_path, live_server, assign(engine), {})
    assert result["result"] == "error"
    assert result["errors"][0]["code"] == "input-download-failed"
    assert "no artifact ids under 'input_artifact_id'" in result["errors"][0]["message"]


def test_an_output_for_another_workers_request_is_refused(
    tmp_path: Path, live_server: LiveServer, admin: APIClient, engine: Engine
) -> None:
    source = input_artifact(admin, tmp_path)
    mine, theirs = assign(engine), assign(engine)
    # This worker claims the other worker's work request.
    impostor = Assigned(theirs.work_request_id, mine.worker_id, mine.token)
    result, log = run_task(
        tmp_path, live_server, impostor, {"input_artifact_id": source}
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "output-upload-failed"
    assert f"{theirs.work_request_id} is not assigned to worker" in error["message"]
    assert "output: upload failed: debusine:test artifact" in log
    with Session(engine) as session:
        assert (
            session.scalar(
                select(Artifact).where(
                    Artifact.created_by_work_request_id == theirs.work_request_id
                )
            )
            is None
        )


def test_the_daemon_passes_the_dynamic_data_to_the_task(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    make_daemon: Callable[..., WorkerDaemon],
    handlers: RecordingHandlers,
) -> None:
    source = input_artifact(admin, tmp_path)
    # The daemon's worker token (from the bus tests) names a worker there too.
    assigned = assign(engine, DAEMON_TOKEN)
    handlers.assignments.append(
        {
            **assignment(assigned.work_request_id, "testio", relation="built-using"),
            "api_url": live_server.api_url,
            "extra": {
                "dynamic_task_data": {"sources": [source]},
                "workspace": "System",
                "scope": "debusine",
            },
        }
    )
    handlers.assignments[-1]["task_data"]["input_key"] = "sources"
    make_daemon(task_modules=[IO_TASK_MODULE])
    result, output_data = wait_for(
        lambda: finished(handlers, assigned.work_request_id), timeout=60
    )
    log = log_of(handlers, assigned.work_request_id)
    assert result == "success", (output_data, log)
    artifact_id = output_id(log)
    relations = admin.get("/artifact-relation/", params={"artifact": artifact_id})
    assert [(r["target"], r["type"]) for r in relations] == [(source, "built-using")]
    with Session(engine) as session:
        stored = session.get(Artifact, artifact_id)
        assert stored is not None
        assert stored.created_by_work_request_id == assigned.work_request_id
