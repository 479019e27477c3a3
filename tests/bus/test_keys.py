"""The server key pair and `debusine-admin bus-keys`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import zmq

from debusine.bus.keys import (
    BusKeysError,
    ensure_server_keys,
    load_public_key,
    load_server_keys,
)


def test_ensure_server_keys_is_idempotent(tmp_path: Path) -> None:
    public, created = ensure_server_keys(tmp_path)
    assert created
    assert len(public) == 40
    secret_file = tmp_path / "bus" / "server.key_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert ensure_server_keys(tmp_path) == (public, False)
    loaded_public, secret = load_server_keys(tmp_path)
    assert loaded_public == public
    assert zmq.curve_public(secret) == public
    assert load_public_key(tmp_path) == public
    assert sorted(p.name for p in (tmp_path / "bus").iterdir()) == [
        "server.key",
        "server.key_secret",
    ]


def test_missing_keys(tmp_path: Path) -> None:
    with pytest.raises(BusKeysError, match="run `debusine-admin bus-keys`"):
        load_server_keys(tmp_path)
    with pytest.raises(BusKeysError, match="run `debusine-admin bus-keys`"):
        load_public_key(tmp_path)
