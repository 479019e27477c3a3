"""The real `debusine-admin` console script, in subprocesses, on a database
that really commits."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, select
from sqlalchemy.orm import Session

from debusine.models import Scope, Token, User
from debusine.models.auth import hash_token_key
from tests.admin.test_main import command_parsers
from tests.database import create_database, drop_database

SCRIPT = Path(sys.executable).parent / "debusine-admin"


def run(
    *argv: str, url: str | None, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DEBUSINE_")
    }
    if url is not None:
        env["DEBUSINE_SQLALCHEMY_URL"] = url
    return subprocess.run(
        [str(SCRIPT), *argv],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def scratch(scratch_database: str) -> Iterator[tuple[str, Session]]:
    engine = create_engine(scratch_database, poolclass=pool.NullPool)
    with Session(engine) as session:
        yield scratch_database, session
    engine.dispose()


def test_script_is_installed():
    assert SCRIPT.is_file()


def test_help_for_every_command(tmp_path):
    # No database is needed (nor touched) for --help: this URL leads nowhere.
    env = {name: value for name, value in os.environ.items() if "DEBUSINE_" not in name}
    env["DEBUSINE_SQLALCHEMY_URL"] = f"postgresql+psycopg://nobody@/x?host={tmp_path}"
    commands = [(), *(words for words, _parser in command_parsers())]
    assert len(commands) > 25

    # All at once: each is a whole Python start-up.
    processes = {
        words: subprocess.Popen(
            [str(SCRIPT), *words, "--help"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for words in commands
    }
    for words, process in processes.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, (words, stderr)
        assert stdout.startswith(f"usage: debusine-admin {' '.join(words)}")
        assert stderr == ""


def test_bootstrap_then_create_token(scratch, tmp_path):
    url, session = scratch
    token_file = tmp_path / "admin-token"

    first = run("bootstrap", "--token-file", str(token_file), url=url, cwd=tmp_path)
    second = run("bootstrap", "--token-file", str(token_file), url=url, cwd=tmp_path)
    user = run("create-user", "alice", "alice@example.org", url=url, cwd=tmp_path)
    token = run("create-token", "alice", "--comment", "ci", url=url, cwd=tmp_path)
    listing = run("list-tokens", "--yaml", url=url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert f"Wrote the API token of admin to {token_file}" in first.stdout
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""
    assert user.returncode == 0, user.stderr
    assert token.returncode == 0, token.stderr
    key = token.stdout.strip()
    assert token.stdout == key + "\n"
    admin_key = token_file.read_text().strip()
    tokens = {t.hash: t for t in session.scalars(select(Token).join(Token.user))}
    assert tokens[hash_token_key(key)].user.username == "alice"
    assert tokens[hash_token_key(key)].enabled
    assert tokens[hash_token_key(admin_key)].user.username == "admin"
    assert session.scalar(select(User).where(User.username == "admin")).is_superuser
    assert listing.returncode == 0
    assert key not in listing.stdout
    assert admin_key not in listing.stdout


def test_duplicate_scope(scratch, tmp_path):
    url, session = scratch

    first = run("create-scope", "debian", url=url, cwd=tmp_path)
    second = run("create-scope", "debian", "--label", "Other", url=url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 3
    assert second.stdout == ""
    assert second.stderr == "debusine-admin: error: scope 'debian' already exists\n"
    assert session.scalars(select(Scope.label)).all() == ["Debian"]


def test_usage_error_exit_status(tmp_path):
    result = run("create-scope", url=None, cwd=tmp_path)

    assert result.returncode == 2
    assert "usage: debusine-admin create-scope" in result.stderr


def test_metadata_from_stdin(scratch, tmp_path):
    url, _session = scratch
    assert run("create-worker", "builder", url=url, cwd=tmp_path).returncode == 0

    bad = run(
        "edit-worker-metadata",
        "builder",
        "--set",
        "-",
        stdin="[",
        url=url,
        cwd=tmp_path,
    )
    good = run(
        "edit-worker-metadata",
        "builder",
        "--set",
        "-",
        stdin="arch: [amd64]",
        url=url,
        cwd=tmp_path,
    )
    shown = run("edit-worker-metadata", "builder", url=url, cwd=tmp_path)

    assert bad.returncode == 3
    assert bad.stderr.count("\n") == 1
    assert "standard input is not valid YAML or JSON" in bad.stderr
    assert good.returncode == 0, good.stderr
    assert shown.stdout == "arch:\n- amd64\n"


@pytest.fixture
def empty_database(server_url, worker_id) -> Iterator[str]:
    name = f"debusine_admin_empty_{worker_id}"
    url = create_database(server_url, name).render_as_string(hide_password=False)
    yield url
    drop_database(server_url, name)


def test_migrate_empty_database(empty_database, tmp_path):
    first = run("migrate", url=empty_database, cwd=tmp_path)
    second = run("migrate", url=empty_database, cwd=tmp_path)
    listing = run("list-scopes", "--yaml", url=empty_database, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Migrated the database from revision (empty) to ")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("The database is already at revision ")
    assert listing.stdout == "[]\n"


def test_config_file(scratch, tmp_path):
    url, session = scratch
    ini = tmp_path / "site.ini"
    ini.write_text(f"[app:main]\nsqlalchemy.url = {url}\n".replace("%", "%%"))

    result = run(
        "--config",
        str(ini),
        "bootstrap",
        "--scope",
        "site",
        "--token-file",
        str(tmp_path / "t"),
        url=None,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert session.scalars(select(Scope.name)).all() == ["site"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("debusine-admin create-sc", {"create-scope"}),
        ("debusine-admin grant-role workspace debusine/System ", {"owner", "viewer"}),
        ("debusine-admin create-worker w --worker-type ", {"external", "signing"}),
    ],
)
def test_shell_completion(tmp_path, line, expected):
    """argcomplete answers from the parser, as the shell would ask it."""
    out = tmp_path / "completions"
    env = {name: value for name, value in os.environ.items() if "DEBUSINE_" not in name}
    env.update(
        _ARGCOMPLETE="1",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(out),
    )

    result = subprocess.run(
        [str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    words = set(out.read_text().replace("\v", " ").split())
    assert expected <= words
