"""The server's CURVE key pair for the bus, under `<data_dir>/bus/`."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import zmq.auth

from debusine.errors import DomainError

KEY_DIRECTORY = "bus"
NAME = "server"
PUBLIC_FILE = f"{NAME}.key"
SECRET_FILE = f"{NAME}.key_secret"


class BusKeysError(DomainError):
    """The key pair is missing or cannot be read or written."""


def key_directory(data_dir: str | Path) -> Path:
    return Path(data_dir) / KEY_DIRECTORY


def load_server_keys(data_dir: str | Path) -> tuple[bytes, bytes]:
    """(public key, secret key) of the server; BusKeysError if missing."""
    secret_file = key_directory(data_dir) / SECRET_FILE
    if not secret_file.is_file():
        raise BusKeysError(
            f"no bus key pair in {secret_file.parent}: run `debusine-admin bus-keys`"
        )
    try:
        public, secret = zmq.auth.load_certificate(secret_file)
    except (OSError, ValueError) as error:
        raise BusKeysError(f"cannot read {secret_file}: {error}") from None
    if secret is None:
        raise BusKeysError(f"{secret_file} holds no secret key")
    return public, secret


def load_public_key(data_dir: str | Path) -> bytes:
    public_file = key_directory(data_dir) / PUBLIC_FILE
    if not public_file.is_file():
        raise BusKeysError(
            f"no bus key pair in {public_file.parent}: run `debusine-admin bus-keys`"
        )
    try:
        public, _ = zmq.auth.load_certificate(public_file)
    except (OSError, ValueError) as error:
        raise BusKeysError(f"cannot read {public_file}: {error}") from None
    return public


def ensure_server_keys(data_dir: str | Path) -> tuple[bytes, bool]:
    """Create the key pair unless it exists: (public key, whether created).

    The pair is made in a private temporary directory then renamed into
    place, so the secret key is never readable by others (mode 0600).
    """
    directory = key_directory(data_dir)
    if (directory / SECRET_FILE).is_file():
        return load_server_keys(data_dir)[0], False
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        workdir = tempfile.mkdtemp(prefix=".keys-", dir=directory)
        try:
            public_file, secret_file = zmq.auth.create_certificates(workdir, NAME)
            os.chmod(secret_file, 0o600)
            os.chmod(public_file, 0o644)
            os.replace(public_file, directory / PUBLIC_FILE)
            os.replace(secret_file, directory / SECRET_FILE)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    except OSError as error:
        raise BusKeysError(
            f"cannot create the bus key pair in {directory}: {error}"
        ) from None
    return load_server_keys(data_dir)[0], True
