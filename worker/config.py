"""The worker's configuration file.

```ini
[General]
bus-endpoint = tcp://127.0.0.1:5555
api-url = http://127.0.0.1:6543/api
# or: token = ...
token-file = /etc/debusine/worker/token
# or: server-public-key-file = ...
server-public-key = ...
heartbeat-interval = 5
liveness = 3
work-directory = /var/lib/debusine/worker
# Unpacked system tarballs of the unshare executor, least recently used
# evicted past either limit (size: bytes, or with a K, M, G or T suffix).
cache-directory = /var/cache/debusine/worker
cache-max-environments = 10
cache-max-size = 50G
```

The file is the one named by `--config`, else
`~/.config/debusine/worker/config.ini` when it exists, else
`/etc/debusine/worker/config.ini`. Relative `*-file` paths are relative to
the configuration file's directory. Comments take whole lines (`#` or
`;`), not the end of a value. No database here: the worker only
talks to the bus and the JSON API.
"""

from __future__ import annotations

import configparser
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from zmq.utils import z85

from debusine.bus.messages import DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS

SECTION = "General"
SYSTEM_CONFIG = Path("/etc/debusine/worker/config.ini")
# A Z85-encoded CURVE key (`debusine-admin bus-keys --show`).
CURVE_KEY_LENGTH = 40
EXAMPLE = (
    "[General]\\nbus-endpoint = tcp://HOST:5555\\n"
    "api-url = http://HOST:6543/api\\ntoken = TOKEN\\n"
    "server-public-key = KEY"
)


class ConfigError(Exception):
    """The configuration is missing or wrong; the message says what to write."""


def user_config_path() -> Path:
    return Path.home() / ".config" / "debusine" / "worker" / "config.ini"


def default_work_directory() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/debusine/worker")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "debusine" / "worker"


def default_cache_directory() -> Path:
    if os.geteuid() == 0:
        return Path("/var/cache/debusine/worker")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "debusine" / "worker-cache"


SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """Bytes from `123`, `20G`...; None if it is not such a size."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (text[:-1], text[-1]) if text[-1:] in SIZE_UNITS else (text, "")
    if not number.strip().isdigit():
        return None
    return int(number) * SIZE_UNITS[unit]


def config_path(option: str | None) -> Path:
    """`--config`, else the user's file if it exists, else the system's."""
    if option:
        return Path(option)
    user = user_config_path()
    if user.is_file():
        return user
    return SYSTEM_CONFIG


@dataclass(frozen=True)
class WorkerConfig:
    path: Path
    bus_endpoint: str
    api_url: str
    token: str
    server_public_key: bytes
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    liveness: int = DEFAULT_LIVENESS
    work_directory: Path = Path("work")
    cache_directory: Path = Path("cache")
    cache_max_environments: int = 10
    cache_max_size: int | None = None


def _value_or_file(
    section: configparser.SectionProxy, name: str, base: Path, path: Path
) -> str:
    value = section.get(name, "").strip()
    file_option = f"{name}-file"
    file_name = section.get(file_option, "").strip()
    if value and file_name:
        raise ConfigError(
            f"{path}: [{SECTION}] has both {name} and {file_option}: keep one"
        )
    if file_name:
        file = base / Path(file_name).expanduser()
        try:
            value = file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"{path}: cannot read {file_option} {file}: "
                f"{getattr(error, 'strerror', None) or error}"
            ) from None
        if not value:
            raise ConfigError(f"{path}: {file_option} {file} is empty")
    if not value:
        raise ConfigError(
            f"{path}: [{SECTION}] needs {name} = ... (or {file_option} = FILE)"
        )
    return value


def _is_z85(key: str) -> bool:
    try:
        z85.decode(key)
    except (ValueError, KeyError, TypeError, struct.error):
        return False
    return True


def load_config(path: Path) -> WorkerConfig:
    """Read and check `path`; ConfigError says what is missing and where."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file {path}: write one with {EXAMPLE} "
            "(or pass --config FILE)"
        ) from None
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        message = " ".join(str(error).split())
        raise ConfigError(f"cannot read {path}: {message}") from None
    if not parser.has_section(SECTION):
        raise ConfigError(f"{path}: no [{SECTION}] section; write {EXAMPLE}")
    section = parser[SECTION]
    base = path.absolute().parent

    endpoint = section.get("bus-endpoint", "").strip()
    if not endpoint:
        raise ConfigError(
            f"{path}: [{SECTION}] needs bus-endpoint = tcp://HOST:PORT "
            "(the server's debusine.bus.bind)"
        )
    if not endpoint.startswith(("tcp://", "ipc://")):
        raise ConfigError(
            f"{path}: bus-endpoint {endpoint!r} must look like tcp://HOST:PORT"
        )
    api_url = section.get("api-url", "").strip().rstrip("/")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{path}: [{SECTION}] needs api-url = http://HOST:PORT/api "
            f"(got {api_url!r})"
        )
    token = _value_or_file(section, "token", base, path)
    key = _value_or_file(section, "server-public-key", base, path)
    if len(key) != CURVE_KEY_LENGTH or not _is_z85(key):
        raise ConfigError(
            f"{path}: server-public-key must be the {CURVE_KEY_LENGTH}-character "
            "key printed by `debusine-admin bus-keys --show`"
        )

    try:
        interval = section.getfloat(
            "heartbeat-interval", fallback=DEFAULT_HEARTBEAT_INTERVAL
        )
        liveness = section.getint("liveness", fallback=DEFAULT_LIVENESS)
    except ValueError as error:
        raise ConfigError(
            f"{path}: heartbeat-interval must be a number of seconds and "
            f"liveness a whole number: {error}"
        ) from None
    if interval <= 0 or liveness < 1:
        raise ConfigError(
            f"{path}: heartbeat-interval must be > 0 and liveness >= 1 "
            "(use the server's debusine.bus.* values)"
        )
    work = section.get("work-directory", "").strip()
    work_directory = (
        base / Path(work).expanduser() if work else default_work_directory()
    )
    cache = section.get("cache-directory", "").strip()
    cache_directory = (
        base / Path(cache).expanduser() if cache else default_cache_directory()
    )
    max_environments = section.get("cache-max-environments", "10").strip()
    if not max_environments.isdigit() or int(max_environments) < 1:
        raise ConfigError(
            f"{path}: cache-max-environments must be a whole number >= 1 "
            f"(got {max_environments!r})"
        )
    max_size_text = section.get("cache-max-size", "").strip()
    max_size = parse_size(max_size_text) if max_size_text else None
    if max_size_text and not max_size:
        raise ConfigError(
            f"{path}: cache-max-size must be a size such as 50G or 20000M "
            f"(got {max_size_text!r})"
        )
    return WorkerConfig(
        path=path,
        bus_endpoint=endpoint,
        api_url=api_url,
        token=token,
        server_public_key=key.encode("ascii", errors="replace"),
        heartbeat_interval=interval,
        liveness=liveness,
        work_directory=work_directory,
        cache_directory=cache_directory,
        cache_max_environments=int(max_environments),
        cache_max_size=max_size,
    )
