"""Single-lookup latency in a `debian:suite` of 100,000 items.

Run as `.venv/bin/python bench/lookups.py`. It starts the embedded
PostgreSQL with a throw-away data directory under /tmp, migrates a fresh
database, bulk-loads the suite (set-based INSERT ... SELECT, not one flush
per item) into a parent workspace that the looked-up workspace inherits
from, then times 2,000 single lookups of mixed kinds in-process.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.support import fresh_database
from debusine import models
from debusine.collections import lookup_single
from debusine.permissions import ANONYMOUS

PACKAGES = int(
    os.environ.get("BENCH_PACKAGES", "10000")
)  # x 2 versions: 20,000 sources + 80,000 binaries
ARCHES = ("amd64", "arm64", "i386", "all")
LOOKUPS = 2_000


def load(session: Session) -> tuple[int, list[int]]:
    scope = models.Scope(name="bench", label="Bench")
    parent = models.Workspace(scope=scope, name="parent", public=True)
    child = models.Workspace(scope=scope, name="child", public=True)
    session.add_all([scope, parent, child])
    session.flush()
    child.set_inheritance(session, [parent])
    suite = models.Collection(workspace=parent, name="trixie", category="debian:suite")
    session.add(suite)
    session.flush()
    params = {"ws": parent.id, "suite": suite.id, "n": PACKAGES - 1}
    session.execute(
        text(
            "INSERT INTO artifact (category, workspace_id, data)"
            " SELECT 'debian:source-package', :ws, jsonb_build_object("
            "  'name', 'pkg' || p, 'version', v || '.0-1', 'type', 'dpkg')"
            " FROM generate_series(0, :n) p, generate_series(1, 2) v"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO artifact (category, workspace_id, data)"
            " SELECT 'debian:binary-package', :ws, jsonb_build_object("
            "  'srcpkg_name', 'pkg' || p, 'srcpkg_version', v || '.0-1',"
            "  'deb_fields', jsonb_build_object('Package', 'pkg' || p,"
            "   'Version', v || '.0-1', 'Architecture', a))"
            " FROM generate_series(0, :n) p, generate_series(1, 2) v,"
            "  unnest(ARRAY['amd64', 'arm64', 'i386', 'all']) a"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO collection_item (parent_collection_id, parent_category,"
            " name, child_type, category, artifact_id, data)"
            " SELECT :suite, 'debian:suite', (data->>'name') || '_' ||"
            "  (data->>'version'), 'a', category, id, jsonb_build_object("
            "  'package', data->>'name', 'version', data->>'version',"
            "  'component', 'main', 'section', 'misc')"
            " FROM artifact WHERE workspace_id = :ws"
            "  AND category = 'debian:source-package'"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO collection_item (parent_collection_id, parent_category,"
            " name, child_type, category, artifact_id, data)"
            " SELECT :suite, 'debian:suite', (data->'deb_fields'->>'Package')"
            "  || '_' || (data->'deb_fields'->>'Version') || '_' ||"
            "  (data->'deb_fields'->>'Architecture'), 'a', category, id,"
            "  jsonb_build_object('srcpkg_name', data->>'srcpkg_name',"
            "  'srcpkg_version', data->>'srcpkg_version',"
            "  'package', data->'deb_fields'->>'Package',"
            "  'version', data->'deb_fields'->>'Version',"
            "  'architecture', data->'deb_fields'->>'Architecture',"
            "  'component', 'main', 'section', 'misc', 'priority', 'optional')"
            " FROM artifact WHERE workspace_id = :ws"
            "  AND category = 'debian:binary-package'"
        ),
        params,
    )
    artifact_ids = list(
        session.scalars(text("SELECT id FROM artifact ORDER BY random() LIMIT 500"))
    )
    child_id = child.id
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    return child_id, artifact_ids


def queries(rng: random.Random, artifact_ids: list[int]) -> list[str]:
    result = []
    for _ in range(LOOKUPS):
        p = rng.randrange(PACKAGES)
        v = rng.choice((1, 2))
        arch = rng.choice(ARCHES[:3])
        kind = rng.randrange(6)
        if kind == 0:
            result.append(f"trixie@debian:suite/source:pkg{p}")
        elif kind == 1:
            result.append(f"trixie@debian:suite/source-version:pkg{p}_{v}.0-1")
        elif kind == 2:
            result.append(f"trixie@debian:suite/binary:pkg{p}_{arch}")
        elif kind == 3:
            result.append(f"trixie@debian:suite/binary-version:pkg{p}_{v}.0-1_{arch}")
        elif kind == 4:
            result.append(f"trixie@debian:suite/pkg{p}_{v}.0-1")
        else:
            result.append(f"{rng.choice(artifact_ids)}@artifacts")
    return result


def main() -> None:
    with fresh_database("lookups") as url:
        engine = create_engine(url)
        with Session(engine) as session:
            started = time.perf_counter()
            workspace_id, artifact_ids = load(session)
            count = session.scalar(text("SELECT count(*) FROM collection_item"))
            print(f"loaded {count} items in {time.perf_counter() - started:.1f} s")
        rng = random.Random(42)  # noqa: S311 (a reproducible benchmark)
        lookups = queries(rng, artifact_ids)
        timings = []
        with Session(engine) as session:
            workspace = session.get_one(models.Workspace, workspace_id)
            for lookup in lookups[:200]:  # warm up caches
                lookup_single(session, lookup, workspace=workspace, actor=ANONYMOUS)
            session.expunge_all()
            workspace = session.get_one(models.Workspace, workspace_id)
            for lookup in lookups:
                started = time.perf_counter()
                lookup_single(session, lookup, workspace=workspace, actor=ANONYMOUS)
                timings.append((time.perf_counter() - started) * 1000)
        engine.dispose()
        timings.sort()
        p50 = statistics.median(timings)
        p99 = timings[int(len(timings) * 0.99) - 1]
        print(f"FIGURE lookup_single_p50 {p50:.3f} ms target <=2")
        print(f"FIGURE lookup_single_p99 {p99:.3f} ms target <=20")


if __name__ == "__main__":
    main()
