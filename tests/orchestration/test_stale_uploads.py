"""Abandoned partial uploads: their rows and temporary files go, resuming restarts."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.admin import main as admin
from debusine.orchestration.expiry import (
    delete_expired,
    remove_after_commit,
    stale_upload_age,
)
from debusine.storage import LocalStore
from tests.storage.helpers import World, create_artifact, make_world, sha256, upload

HOUR = dt.timedelta(hours=1)
DATA = b"0123456789"


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "debusine.data_dir": str(tmp_path)}


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def half_uploaded(webapp: webtest.TestApp, world: World) -> int:
    aid: int = create_artifact(webapp, world.contributor, {"f": DATA}).json["id"]
    upload(webapp, world.contributor, aid, "f", DATA[:5], "bytes 0-4/10", status=200)
    return aid


def uploads(db_session: Session) -> list[str]:
    return list(db_session.scalars(select(models.FileUpload.path)))


def test_idle_upload_is_abandoned_and_resuming_starts_over(
    webapp: webtest.TestApp, world: World, store: LocalStore, db_session: Session
) -> None:
    aid = half_uploaded(webapp, world)
    [partial] = uploads(db_session)
    assert Path(partial).stat().st_size == 5
    now = dt.datetime.now(dt.UTC)

    # Idle for an hour: kept.
    report = delete_expired(db_session, now + HOUR)
    assert report.uploads == []
    remove_after_commit(report)
    assert uploads(db_session) == [partial]
    assert Path(partial).exists()

    # Idle for longer than a day: the row goes, the file after the commit.
    report = delete_expired(db_session, now + 25 * HOUR)
    assert report.uploads == [partial]
    assert uploads(db_session) == []
    assert Path(partial).exists()
    assert remove_after_commit(report) == (0, 1)
    assert not Path(partial).exists()

    # A client resuming is told that nothing is left; it starts over.
    response = upload(
        webapp, world.contributor, aid, "f", DATA[5:], "bytes 5-9/10", status=416
    )
    assert "0 bytes have been received" in response.json["detail"]
    assert not Path(partial).exists()
    probe = upload(webapp, world.contributor, aid, "f", b"", "bytes */10")
    assert probe.headers["Range"] == "bytes=0-0"
    upload(webapp, world.contributor, aid, "f", DATA[:5], "bytes 0-4/10", status=200)
    upload(webapp, world.contributor, aid, "f", DATA[5:], "bytes 5-9/10", status=201)
    assert store.path(sha256(DATA), len(DATA)).read_bytes() == DATA


def test_the_age_is_configurable(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    half_uploaded(webapp, world)
    now = dt.datetime.now(dt.UTC)
    assert delete_expired(db_session, now + 2 * HOUR).uploads == []
    age = stale_upload_age({"debusine.orchestration.stale_upload_hours": "1"})
    assert age == HOUR
    assert len(delete_expired(db_session, now + 2 * HOUR, age).uploads) == 1


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_bad_age_setting_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match="must be a positive number of hours"):
        stale_upload_age({"debusine.orchestration.stale_upload_hours": value})


def test_expired_artifact_takes_its_partial_upload_file(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    aid = half_uploaded(webapp, world)
    [partial] = uploads(db_session)
    artifact = db_session.get(models.Artifact, aid)
    assert artifact is not None
    artifact.expiration_delay = HOUR
    artifact.created_at = dt.datetime.now(dt.UTC) - 2 * HOUR
    db_session.flush()
    report = delete_expired(db_session)
    assert aid in report.artifacts
    assert report.uploads == [partial]
    remove_after_commit(report)
    assert not Path(partial).exists()


def test_leftover_temporary_files_are_swept_by_age(
    webapp: webtest.TestApp, world: World, store: LocalStore, db_session: Session
) -> None:
    half_uploaded(webapp, world)  # creates the Default store and its tmp/
    old = store.tmp_directory / "upload-999999"
    old.write_bytes(b"rolled back")
    two_days_ago = (dt.datetime.now(dt.UTC) - 48 * HOUR).timestamp()
    os.utime(old, (two_days_ago, two_days_ago))
    recent = store.tmp_directory / "add-recent"
    recent.write_bytes(b"being written")
    report = delete_expired(db_session)
    assert report.uploads == []
    assert remove_after_commit(report) == (0, 1)
    assert not old.exists()
    assert recent.exists()
    assert len(uploads(db_session)) == 1


def test_admin_command_abandons_idle_uploads_after_commit(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    half_uploaded(webapp, world)
    [partial] = uploads(db_session)
    upload_row = db_session.scalars(select(models.FileUpload)).one()
    upload_row.last_activity_at = dt.datetime.now(dt.UTC) - 2 * HOUR
    db_session.flush()

    assert admin(["delete-expired", "--dry-run"], session=db_session) == 0
    assert "Would delete 0 partial uploads idle for more than 24 hours" in (
        capsys.readouterr().out
    )
    command = ["delete-expired", "--stale-upload-hours", "1"]
    assert admin([*command, "--dry-run"], session=db_session) == 0
    assert "Would delete 1 partial uploads" in capsys.readouterr().out
    assert Path(partial).exists()

    assert admin(command, session=db_session) == 0
    assert "Deleted 1 partial uploads idle for more than 1 hours" in (
        capsys.readouterr().out
    )
    assert uploads(db_session) == []
    assert not Path(partial).exists()


def test_admin_command_refuses_a_bad_age(
    db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    code = admin(["delete-expired", "--stale-upload-hours", "0"], session=db_session)
    assert code == 3
    assert "must be a positive number of hours" in capsys.readouterr().err
