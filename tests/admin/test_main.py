"""main(): settings, exit statuses, transactions, help."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy import select, text

from debusine.admin import build_parser, config_path, load_settings, main
from debusine.admin.common import CommandError
from debusine.models import Scope
from tests.admin.helpers import assert_error, assert_usage_error


def command_parsers(parser=None, prefix=()):
    """(command words, parser) for every command and nested sub-command."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from command_parsers(sub, (*prefix, name))


def subcommands() -> list[str]:
    return sorted({words[0] for words, _parser in command_parsers()})


def test_every_command_has_help(capsys):
    for words, parser in command_parsers():
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args([*words, "--help"])
        assert exit_info.value.code == 0
        help_text = capsys.readouterr().out
        assert f"usage: debusine-admin {' '.join(words)}" in help_text
        assert parser.description
        assert len(parser.description) > 20, words
        for action in parser._actions:
            assert action.help, (words, action.dest)


def test_main_help(admin):
    result = admin("--help")

    assert result.code == 0
    for command in subcommands():
        assert command in result.out
    assert "DEBUSINE_SQLALCHEMY_URL" in result.out
    assert "exit status" in result.out


def test_usage_errors(admin):
    assert_usage_error(admin(), "required: COMMAND")
    assert_usage_error(admin("no-such-command"), "invalid choice")
    assert_usage_error(admin("create-scope"), "required: NAME")
    assert_usage_error(admin("create-scope", "a", "--bogus"), "unrecognized arguments")


def test_config_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_path(None, {}) is None
    assert config_path(None, {"DEBUSINE_CONFIG": "/etc/debusine.ini"}) == (
        "/etc/debusine.ini"
    )
    (tmp_path / "development.ini").write_text("[app:main]\n")
    assert config_path(None, {}) == "development.ini"
    assert config_path(None, {"DEBUSINE_CONFIG": "x.ini"}) == "x.ini"
    assert config_path("given.ini", {"DEBUSINE_CONFIG": "x.ini"}) == "given.ini"


def test_load_settings(tmp_path, monkeypatch):
    ini = tmp_path / "site.ini"
    ini.write_text(
        "[app:main]\n"
        "use = egg:debusine\n"
        "debusine.data_dir = %(here)s/data\n"
        "debusine.default_scope = site\n"
        "[server:main]\nuse = egg:waitress#main\n"
    )
    monkeypatch.setenv("DEBUSINE_DEFAULT_WORKSPACE", "Main")

    settings = load_settings(str(ini))

    assert settings["debusine.data_dir"] == f"{tmp_path}/data"
    assert settings["debusine.default_scope"] == "site"
    assert settings["debusine.default_workspace"] == "Main"
    assert load_settings(None)["debusine.default_scope"] == "debusine"


def test_load_settings_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        load_settings(str(tmp_path / "missing.ini"))
    broken = tmp_path / "broken.ini"
    broken.write_text("this is not an ini file\n")
    with pytest.raises(CommandError, match="cannot read configuration file"):
        load_settings(str(broken))


def test_config_option_used(admin, db_session, tmp_path):
    ini = tmp_path / "site.ini"
    ini.write_text("[app:main]\ndebusine.default_scope = fromini\n")

    result = admin("-c", str(ini), "bootstrap", "--token-file", str(tmp_path / "token"))

    assert result.code == 0, result
    assert db_session.scalar(select(Scope.name)) == "fromini"


def test_config_file_missing(admin, tmp_path):
    result = admin("--config", str(tmp_path / "nope.ini"), "list-scopes")

    assert_error(result, "cannot read configuration file", "nope.ini")


def test_debusine_config_environment(admin, db_session, tmp_path, monkeypatch):
    ini = tmp_path / "env.ini"
    ini.write_text("[app:main]\ndebusine.default_scope = fromenv\n")
    monkeypatch.setenv("DEBUSINE_CONFIG", str(ini))

    assert admin("bootstrap", "--token-file", str(tmp_path / "t")).code == 0
    assert db_session.scalar(select(Scope.name)) == "fromenv"


def test_database_unreachable(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "DEBUSINE_SQLALCHEMY_URL",
        f"postgresql+psycopg://nobody@/nothing?host={tmp_path}&connect_timeout=2",
    )

    code = main(["list-scopes"])

    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("debusine-admin: error: database error: ")
    assert err.count("\n") == 1


def test_integrity_error_is_one_line(admin, db_session, monkeypatch):
    """A constraint the command did not check for is still reported cleanly."""
    from debusine.admin import scopes

    def insert_bad_scope(args, session, out):
        session.execute(text("INSERT INTO scope (name, label) VALUES ('1bad', 'x')"))

    monkeypatch.setattr(scopes, "list_scopes", insert_bad_scope)

    result = admin("list-scopes")

    assert_error(
        result,
        "the database refused the change",
        'violates check constraint "ck_scope_name_valid"',
    )
    assert db_session.scalars(select(Scope)).all() == []


def test_value_too_long_is_one_line(admin, db_session):
    result = admin("create-scope", "debian", "--label", "x" * 300)

    assert_error(result, "the database refused the change", "value too long")
    assert db_session.scalars(select(Scope)).all() == []


def test_output_only_after_commit(admin, db_session):
    """A command that fails half-way printed nothing: its output is held
    until the commit."""
    result = admin("create-scope", "debian", "--with-owners-group", "bad name")

    assert_error(result, "invalid group name 'bad name'")
    assert db_session.scalars(select(Scope)).all() == []


def test_unexpected_error_rolls_back(db_session, monkeypatch, tmp_path):
    from debusine.admin import scopes

    monkeypatch.chdir(tmp_path)

    def boom(args, session, out):
        session.add(Scope(name="half", label="Half"))
        session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr(scopes, "list_scopes", boom)
    db_session.commit()

    with pytest.raises(RuntimeError):
        main(["list-scopes"], session=db_session)

    assert db_session.scalars(select(Scope)).all() == []
