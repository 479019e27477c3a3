"""`create-workflow-template`, `create-workflow`, `provide-signature` and
`confirm-work-request`, against a live server.

The wait tasks are made in the server's database, as a workflow would make
them, and started by the orchestrator's wait-task step (the live server
runs no orchestrator); the signatures are real (a throw-away OpenPGP key,
debsign).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, pool, select
from sqlalchemy.orm import Session, sessionmaker

from debusine import models
from debusine.models.auth import hash_token_key
from debusine.orchestration.wait_tasks import run_wait_tasks
from debusine.work_requests import create_work_request
from tests.artifacts.conftest import Packages
from tests.client.conftest import LiveServer, Run


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def error(result: Any) -> str:
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    line: str = result.stderr.strip()
    return line.removeprefix("debusine: error: ")


@pytest.fixture(scope="module")
def database(live_server: LiveServer) -> Iterator[sessionmaker[Session]]:
    engine: Engine = create_engine(
        live_server.env["DEBUSINE_SQLALCHEMY_URL"], poolclass=pool.NullPool
    )
    yield sessionmaker(bind=engine)
    engine.dispose()


def make_wait_task(
    factory: sessionmaker[Session],
    live_server: LiveServer,
    name: str,
    task_data: dict[str, Any],
) -> int:
    """A wait task created by the admin in System, started as the orchestrator does."""
    with factory.begin() as session:
        token = session.scalars(
            select(models.Token).where(
                models.Token.hash == hash_token_key(live_server.token)
            )
        ).one()
        workspace = session.scalars(
            select(models.Workspace).where(models.Workspace.name == "System")
        ).one()
        work_request = create_work_request(
            session,
            workspace=workspace,
            task_type=models.TaskType.WAIT,
            task_name=name,
            task_data=task_data,
            created_by=token.user,
        )
        work_request_id = work_request.id
    run_wait_tasks(factory)
    return work_request_id


# Workflows -------------------------------------------------------------------


def test_create_template_then_workflow(debusine: Run, tmp_path: Path) -> None:
    data = tmp_path / "template.yaml"
    data.write_text("children: 2\n")
    created = ok(
        debusine(
            "create-workflow-template",
            "cli-noop",
            "noop",
            "--data",
            data,
            "--priority",
            "3",
            "--workspace",
            "System",
        )
    )
    assert created["result"] == "success"
    assert created["message"].endswith("/debusine/System/workflow-template/cli-noop/")
    assert isinstance(created["workflow_template_id"], int)

    started = ok(
        debusine(
            "create-workflow",
            "cli-noop",
            "--data",
            "-",
            input="children: 9\ncallback: true\n",
        )
    )
    assert started["status"] == "pending"
    shown = ok(debusine("show-work-request", str(started["workflow_id"])))
    assert shown["task_type"] == "Workflow"
    # The template's keys win.
    assert shown["task_data"] == {"children": 2, "callback": True}
    assert shown["priority_base"] == 3


def test_workflow_errors_are_one_line(debusine: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("children: lots\n")
    message = error(
        debusine("create-workflow-template", "cli-bad", "noop", "--data", bad)
    )
    assert "children" in message
    message = error(debusine("create-workflow", "no-such-template"))
    assert "no-such-template" in message
    ok(debusine("create-workflow-template", "cli-open", "noop"))
    message = error(debusine("create-workflow", "cli-open", "--data", bad))
    assert "children" in message


def test_help_explains(debusine: Run) -> None:
    result = debusine("create-workflow", "--help")
    assert result.returncode == 0
    assert "template's" in result.stdout
    result = debusine("create-workflow-template", "--help")
    assert result.returncode == 0
    assert "template's task data" in " ".join(result.stdout.split())
    result = debusine("confirm-work-request", "--help")
    assert "--accept" in result.stdout
    assert "--reject" in result.stdout


# confirm-work-request ----------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "result"), [("--accept", "success"), ("--reject", "failure")]
)
def test_confirm_records_the_decision(
    debusine: Run,
    database: sessionmaker[Session],
    live_server: LiveServer,
    option: str,
    result: str,
) -> None:
    work_request_id = make_wait_task(database, live_server, "confirm", {})
    done = ok(
        debusine(
            "confirm-work-request", str(work_request_id), option, "--comment", "checked"
        )
    )
    assert done["work_request_result"] == result
    shown = ok(debusine("show-work-request", str(work_request_id)))
    decision = shown["output_data"]["confirmation"]
    assert decision["action"] == option.removeprefix("--")
    assert decision["comment"] == "checked"
    assert decision["user"]
    # Answered once: a second answer is refused in one line.
    assert "not waiting" in error(
        debusine("confirm-work-request", str(work_request_id), "--accept")
    )


def test_confirm_needs_a_decision(debusine: Run) -> None:
    result = debusine("confirm-work-request", "1")
    assert result.returncode == 2
    assert "--accept" in result.stderr


# provide-signature -------------------------------------------------------------


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A throw-away OpenPGP key (no passphrase): its GNUPGHOME and fingerprint."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [
            *gpg,
            "--quick-gen-key",
            "Signer <signer@example.org>",
            "ed25519",
            "sign",
            "never",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    yield home, fingerprint
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False)


def copy_upload(packages: Packages, target: Path) -> Path:
    target.mkdir()
    for path in (
        packages.changes,
        packages.dsc,
        packages.orig,
        packages.debian_tar,
        packages.buildinfo,
        packages.deb,
    ):
        shutil.copy(path, target / path.name)
    return target / packages.changes.name


def debsign(changes: Path, home: Path, fingerprint: str) -> None:
    subprocess.run(
        ["debsign", "--no-conf", f"-k{fingerprint}", "--re-sign", changes.name],
        cwd=changes.parent,
        env={**os.environ, "GNUPGHOME": str(home)},
        check=True,
        capture_output=True,
    )


def unsigned_upload(debusine: Run, packages: Packages, tmp_path: Path) -> int:
    changes = copy_upload(packages, tmp_path / "unsigned")
    imported = ok(debusine("import-debian-artifact", changes))
    assert imported["category"] == "debian:upload"
    artifact_id: int = imported["artifact_id"]
    return artifact_id


def signed_changes_of(debusine: Run, work_request_id: int, tmp_path: Path) -> str:
    shown = ok(debusine("show-work-request", str(work_request_id)))
    assert (shown["status"], shown["result"]) == ("completed", "success")
    (signed,) = shown["artifacts"]
    assert signed["category"] == "debian:upload"
    target = tmp_path / "downloaded"
    ok(debusine("download-artifact", str(signed["id"]), "--target-directory", target))
    return next(target.glob("*.changes")).read_text()


def test_provide_a_locally_signed_changes(
    debusine: Run,
    database: sessionmaker[Session],
    live_server: LiveServer,
    packages: Packages,
    gnupg: tuple[Path, str],
    tmp_path: Path,
) -> None:
    home, fingerprint = gnupg
    unsigned_id = unsigned_upload(debusine, packages, tmp_path)
    work_request_id = make_wait_task(
        database, live_server, "externaldebsign", {"unsigned": unsigned_id}
    )
    local = copy_upload(packages, tmp_path / "local")
    debsign(local, home, fingerprint)

    done = ok(
        debusine("provide-signature", str(work_request_id), "--local-file", local)
    )

    assert done["status"] == "completed"
    text = signed_changes_of(debusine, work_request_id, tmp_path)
    assert text == local.read_text()
    assert text.startswith("-----BEGIN PGP SIGNED MESSAGE-----")


def test_provide_signature_runs_debsign(
    debusine: Run,
    database: sessionmaker[Session],
    live_server: LiveServer,
    packages: Packages,
    gnupg: tuple[Path, str],
    tmp_path: Path,
) -> None:
    home, fingerprint = gnupg
    unsigned_id = unsigned_upload(debusine, packages, tmp_path)
    work_request_id = make_wait_task(
        database, live_server, "externaldebsign", {"unsigned": unsigned_id}
    )

    done = ok(
        debusine(
            "provide-signature",
            str(work_request_id),
            "--",
            "--no-conf",
            f"-k{fingerprint}",
            env={"GNUPGHOME": str(home)},
        )
    )

    assert done["status"] == "completed"
    text = signed_changes_of(debusine, work_request_id, tmp_path)
    verified = subprocess.run(
        ["gpg", "--batch", "--verify"],
        input=text,
        env={**os.environ, "GNUPGHOME": str(home), "LC_ALL": "C"},
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert "Good signature" in verified.stderr


def test_provide_signature_refuses(
    debusine: Run,
    database: sessionmaker[Session],
    live_server: LiveServer,
    packages: Packages,
    tmp_path: Path,
) -> None:
    confirm_id = make_wait_task(database, live_server, "confirm", {})
    assert "not a Wait externaldebsign task" in error(
        debusine("provide-signature", str(confirm_id))
    )
    unsigned_id = unsigned_upload(debusine, packages, tmp_path)
    work_request_id = make_wait_task(
        database, live_server, "externaldebsign", {"unsigned": unsigned_id}
    )
    # The unsigned .changes itself: the server refuses it.
    local = copy_upload(packages, tmp_path / "same")
    message = error(
        debusine("provide-signature", str(work_request_id), "--local-file", local)
    )
    assert "is the unsigned one" in message
    # A debsign that fails (no such key) is one line too.
    message = error(
        debusine(
            "provide-signature",
            str(work_request_id),
            "--",
            "-kNOSUCHKEY0000",
            env={"GNUPGHOME": str(tmp_path)},
        )
    )
    assert message.startswith("debsign failed")
