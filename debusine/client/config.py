"""The client's configuration file, in the upstream client's format.

```ini
[General]
default-server = localhost

[server:localhost]
api-url = http://127.0.0.1:6543/api
scope = debusine
token = 0123abcd...
```

The file is `~/.config/debusine/client/config.ini`, or the one named by
`--config` or `$DEBUSINE_CLIENT_CONFIG`. `--server NAME` picks a
`[server:NAME]` section; without it `[General] default-server` does (or the
only server section when there is exactly one).
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from debusine.client.errors import ClientError

ENVIRONMENT_VARIABLE = "DEBUSINE_CLIENT_CONFIG"
SERVER_PREFIX = "server:"

EXAMPLE = (
    "[General]\\ndefault-server = NAME\\n\\n[server:NAME]\\n"
    "api-url = http://HOST:PORT/api\\nscope = debusine\\ntoken = TOKEN"
)


def default_config_path() -> Path:
    return Path.home() / ".config" / "debusine" / "client" / "config.ini"


def config_path(option: str | None) -> Path:
    """The file to read: `--config`, else `$DEBUSINE_CLIENT_CONFIG`, else default."""
    if option:
        return Path(option)
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return Path(os.environ[ENVIRONMENT_VARIABLE])
    return default_config_path()


@dataclass(frozen=True)
class ServerConfig:
    name: str
    api_url: str
    scope: str
    token: str


class ConfigError(ClientError):
    """The configuration file is missing or does not say what the client needs."""


def load_server(path: Path, server: str | None = None) -> ServerConfig:
    """The `[server:NAME]` section to talk to, validated."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise ConfigError(
            f"no client configuration at {path}: write one there (or point "
            f"--config or ${ENVIRONMENT_VARIABLE} at one) containing {EXAMPLE}"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    except configparser.Error as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(
            f"{path} is not a valid ini file ({first_line}); it should contain "
            f"{EXAMPLE}"
        ) from None

    servers = [
        section.removeprefix(SERVER_PREFIX)
        for section in parser.sections()
        if section.startswith(SERVER_PREFIX)
    ]
    if server is None:
        server = parser.get("General", "default-server", fallback=None)
        if not server:
            if len(servers) != 1:
                raise ConfigError(
                    f"{path}: no server chosen: give --server NAME or set "
                    "default-server = NAME in its [General] section"
                    + (f" (servers: {', '.join(servers)})" if servers else "")
                )
            server = servers[0]
    section = SERVER_PREFIX + server
    if not parser.has_section(section):
        known = f" (servers: {', '.join(servers)})" if servers else ""
        raise ConfigError(
            f"{path} has no [{section}] section{known}: add one with "
            "api-url, scope and token"
        )

    values = {}
    for key in ("api-url", "scope", "token"):
        value = parser.get(section, key, fallback="").strip()
        if not value:
            raise ConfigError(f"{path}: [{section}] needs {key} = ...")
        values[key] = value
    api_url = values["api-url"].rstrip("/")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{path}: [{section}] api-url {values['api-url']!r} is not an http(s) "
            "URL like http://HOST:PORT/api"
        )
    return ServerConfig(
        name=server, api_url=api_url, scope=values["scope"], token=values["token"]
    )
