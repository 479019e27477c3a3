"""Settings: defaults, then the ini file, then DEBUSINE_* environment variables."""

from __future__ import annotations

import pytest

from debusine.config import DEFAULTS, apply_environment, as_bool, environment_name


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        ("sqlalchemy.url", "DEBUSINE_SQLALCHEMY_URL"),
        ("debusine.bus.bind", "DEBUSINE_BUS_BIND"),
        ("debusine.data_dir", "DEBUSINE_DATA_DIR"),
        ("debusine.default_scope", "DEBUSINE_DEFAULT_SCOPE"),
        ("retry.attempts", "DEBUSINE_RETRY_ATTEMPTS"),
        ("pyramid.reload_templates", "DEBUSINE_PYRAMID_RELOAD_TEMPLATES"),
        ("debusine.some-setting", "DEBUSINE_SOME_SETTING"),
        # Only a leading `debusine.` is dropped.
        ("app.debusine.x", "DEBUSINE_APP_DEBUSINE_X"),
    ],
)
def test_environment_name(key: str, variable: str) -> None:
    assert environment_name(key) == variable


def test_defaults_without_ini_or_environment() -> None:
    assert apply_environment({}, environ={}) == DEFAULTS
    assert DEFAULTS["debusine.bus.bind"] == "tcp://127.0.0.1:5555"


def test_ini_overrides_defaults() -> None:
    settings = apply_environment(
        {"debusine.bus.bind": "tcp://0.0.0.0:6000"}, environ={}
    )
    assert settings["debusine.bus.bind"] == "tcp://0.0.0.0:6000"
    # Defaults the ini file does not mention stay.
    assert settings["debusine.default_workspace"] == "System"


def test_environment_overrides_ini_and_defaults() -> None:
    settings = apply_environment(
        {"sqlalchemy.url": "postgresql://ini/db", "debusine.bus.bind": "tcp://ini:1"},
        environ={
            "DEBUSINE_SQLALCHEMY_URL": "postgresql://env/db",
            "DEBUSINE_DEFAULT_SCOPE": "env-scope",
        },
    )
    assert settings["sqlalchemy.url"] == "postgresql://env/db"  # env over ini
    assert settings["debusine.default_scope"] == "env-scope"  # env over default
    assert settings["debusine.bus.bind"] == "tcp://ini:1"  # ini, not overridden


def test_ini_only_keys_are_overridable() -> None:
    settings = apply_environment(
        {"retry.attempts": "3", "debusine.signer.keys": "/etc/keys"},
        environ={"DEBUSINE_RETRY_ATTEMPTS": "5", "DEBUSINE_SIGNER_KEYS": "/srv/keys"},
    )
    assert settings["retry.attempts"] == "5"
    assert settings["debusine.signer.keys"] == "/srv/keys"


def test_empty_environment_value_still_overrides() -> None:
    """`DEBUSINE_SQLALCHEMY_URL=` asks for the embedded server explicitly."""
    settings = apply_environment(
        {"sqlalchemy.url": "postgresql://ini/db"},
        environ={"DEBUSINE_SQLALCHEMY_URL": ""},
    )
    assert settings["sqlalchemy.url"] == ""


def test_unrelated_environment_is_ignored() -> None:
    settings = apply_environment(
        {}, environ={"DEBUSINE_NOT_A_SETTING": "x", "SQLALCHEMY_URL": "postgresql://x"}
    )
    assert "not_a_setting" not in settings
    assert "debusine.not_a_setting" not in settings
    assert settings["sqlalchemy.url"] == ""


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUSINE_BUS_BIND", "tcp://127.0.0.1:7777")
    assert apply_environment({})["debusine.bus.bind"] == "tcp://127.0.0.1:7777"


def test_input_settings_are_not_modified() -> None:
    ini = {"sqlalchemy.url": "postgresql://ini/db"}
    apply_environment(ini, environ={"DEBUSINE_SQLALCHEMY_URL": "postgresql://env/db"})
    assert ini == {"sqlalchemy.url": "postgresql://ini/db"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("True", True),
        (" yes ", True),
        ("1", True),
        ("on", True),
        (True, True),
        ("false", False),
        ("0", False),
        ("", False),
        ("no", False),
        (None, False),
        (False, False),
    ],
)
def test_as_bool(value: object, expected: bool) -> None:
    assert as_bool(value) is expected
