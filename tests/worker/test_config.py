"""The worker's configuration file and its errors (exit status 3, one line)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import zmq

from worker.cli import main
from worker.config import ConfigError, load_config

KEY = zmq.curve_keypair()[0].decode()
BIN = Path(sys.executable).parent


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_complete_configuration(tmp_path: Path) -> None:
    write(tmp_path / "token", "secret-token\n")
    write(tmp_path / "server.key", KEY + "\n")
    config = load_config(
        write(
            tmp_path / "config.ini",
            "[General]\n"
            "bus-endpoint = tcp://192.0.2.1:5555\n"
            "api-url = https://debusine.example.org/api/\n"
            "token-file = token\n"
            "server-public-key-file = server.key\n"
            "heartbeat-interval = 2.5\n"
            "liveness = 4\n"
            "work-directory = work\n",
        )
    )
    assert config.bus_endpoint == "tcp://192.0.2.1:5555"
    assert config.api_url == "https://debusine.example.org/api"
    assert config.token == "secret-token"
    assert config.server_public_key == KEY.encode()
    assert config.heartbeat_interval == 2.5
    assert config.liveness == 4
    assert config.work_directory == tmp_path / "work"


def test_relative_paths_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.ini", GOOD + "work-directory = work\n")
    config = load_config(Path("config.ini"))
    assert config.work_directory == tmp_path / "work"


def test_the_environment_cache_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config.ini",
        GOOD
        + "cache-directory = cache\ncache-max-environments = 3\n"
        + "cache-max-size = 20G\n",
    )
    config = load_config(path)
    assert config.cache_directory == tmp_path / "cache"
    assert config.cache_max_environments == 3
    assert config.cache_max_size == 20 * 1024**3
    # Without them: a directory of its own, ten environments, no size limit.
    default = load_config(write(path, GOOD))
    assert default.cache_directory != default.work_directory
    assert default.cache_max_environments == 10
    assert default.cache_max_size is None


GOOD = (
    "[General]\nbus-endpoint = tcp://127.0.0.1:5555\n"
    "api-url = http://127.0.0.1:6543/api\ntoken = t\n"
    f"server-public-key = {KEY}\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no configuration file"),
        ("[Other]\n", "no [General] section"),
        ("not an ini file", "cannot read"),
        (GOOD.replace("token = t\n", ""), "needs token = ..."),
        (GOOD.replace("token = t", "token-file = missing"), "cannot read token-file"),
        (GOOD.replace("token = t", "token = t\ntoken-file = x"), "keep one"),
        (GOOD.replace(KEY, "short"), "server-public-key must be"),
        (GOOD.replace(KEY, "~" * 40), "server-public-key must be"),
        (GOOD.replace("tcp://127.0.0.1:5555", ""), "needs bus-endpoint"),
        (GOOD.replace("tcp://", "http://"), "must look like tcp://"),
        (GOOD.replace("http://127.0.0.1:6543/api", "nowhere"), "needs api-url"),
        (GOOD + "heartbeat-interval = soon\n", "heartbeat-interval must be"),
        (GOOD + "liveness = 0\n", "liveness >= 1"),
        (GOOD + "cache-max-environments = 0\n", "cache-max-environments must"),
        (GOOD + "cache-max-size = lots\n", "cache-max-size must be a size"),
        (GOOD + "cache-max-size = 0\n", "cache-max-size must be a size"),
    ],
)
def test_config_errors_exit_3_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    message: str,
) -> None:
    path = tmp_path / "config.ini"
    if text is not None:
        write(path, text)
    with pytest.raises(ConfigError):
        load_config(path)
    assert main(["--config", str(path)]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("debusine-worker: error: ")
    assert message in lines[0]
    assert str(path) in lines[0]


def test_the_command_without_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "debusine-worker")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith("debusine-worker: error: no configuration file ")
    assert "/etc/debusine/worker/config.ini" in line
    assert "bus-endpoint" in line
