"""Settings: the ini file's values, overridden by DEBUSINE_* environment variables.

Every setting `a.b.c` can be overridden by the environment variable
`DEBUSINE_A_B_C`; a leading `debusine.` is dropped first, so
`debusine.bus.bind` is `DEBUSINE_BUS_BIND` and `sqlalchemy.url` is
`DEBUSINE_SQLALCHEMY_URL`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

# Settings every deployment has, with their defaults. The ini files may add
# more, and anything listed here or there can come from the environment.
DEFAULTS: dict[str, str] = {
    "sqlalchemy.url": "",
    "debusine.data_dir": "var",
    "debusine.default_scope": "debusine",
    "debusine.default_workspace": "System",
    "debusine.orchestrator": "false",
    "debusine.bus.bind": "tcp://127.0.0.1:5555",
}


def environment_name(key: str) -> str:
    """The environment variable that overrides the setting `key`."""
    name = key.removeprefix("debusine.")
    return "DEBUSINE_" + name.upper().replace(".", "_").replace("-", "_")


def apply_environment(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then the ini file's settings, then the environment's."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {**DEFAULTS, **settings}
    for key in list(merged):
        value = environ.get(environment_name(key))
        if value is not None:
            merged[key] = value
    return merged


def as_bool(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}
