"""`debusine-admin bus-keys`: the server's CURVE key pair."""

from __future__ import annotations

from pathlib import Path

from debusine.bus.keys import load_public_key
from tests.admin.helpers import Admin


def test_admin_bus_keys(admin: Admin, tmp_path: Path) -> None:
    result = admin("bus-keys", "--show")
    assert result.code == 3
    assert "run `debusine-admin bus-keys`" in result.err
    result = admin("bus-keys")
    assert result.code == 0
    public = result.out.strip()
    assert public == load_public_key(tmp_path / "var").decode()
    again = admin("bus-keys")
    assert again.out.strip() == public
    assert admin("bus-keys", "--show").out.strip() == public
