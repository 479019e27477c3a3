"""What the benchmarks share: a throw-away, migrated database."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from debusine.db.embedded import ensure_database, server_url, start_server
from debusine.db.migrations import alembic_config, upgrade


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A migrated database on a throw-away embedded PostgreSQL, removed after.

    Dispose of the engines using it before leaving the block: the server is
    stopped then.
    """
    directory = Path(tempfile.mkdtemp(prefix=f"debusine-bench-{name}-"))
    server = start_server(directory / "pgdata")
    try:
        ensure_database(server, "bench")
        url = server_url(server, "bench")
        upgrade(alembic_config(database_url=url))
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)
