"""DatabaseBusHandlers against a real, committed database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, pool
from sqlalchemy.orm import Session, sessionmaker

from debusine.bus.broker import WorkerIdentity
from debusine.bus.handlers import DatabaseBusHandlers
from debusine.models import Token, Worker, WorkerType


@pytest.fixture
def factory(scratch_database: str) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(scratch_database, poolclass=pool.NullPool)
    yield sessionmaker(bind=engine)
    with Session(engine) as session, session.begin():
        session.execute(delete(Worker).where(Worker.name.like("bus-test-%")))
        session.execute(delete(Token).where(Token.comment == "bus-test"))
    engine.dispose()


def make_worker(
    factory: sessionmaker[Session], name: str, **token_fields: object
) -> tuple[int, str]:
    with factory.begin() as session:
        token, key = Token.generate(
            enabled=token_fields.pop("enabled", True),
            comment="bus-test",
            **token_fields,
        )
        worker = Worker(name=name, worker_type=WorkerType.EXTERNAL, token=token)
        session.add(worker)
        session.flush()
        return worker.id, key


def test_authenticate(factory: sessionmaker[Session]) -> None:
    handlers = DatabaseBusHandlers(factory)
    worker_id, key = make_worker(factory, "bus-test-ok")
    _, disabled = make_worker(factory, "bus-test-disabled", enabled=False)
    _, expired = make_worker(
        factory,
        "bus-test-expired",
        expire_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
    )
    assert handlers.authenticate(key) == WorkerIdentity(
        worker_id, "bus-test-ok", "external"
    )
    assert handlers.authenticate(disabled) is None
    assert handlers.authenticate(expired) is None
    assert handlers.authenticate("no such token") is None


def test_worker_ready_and_lost(factory: sessionmaker[Session]) -> None:
    handlers = DatabaseBusHandlers(factory)
    worker_id, key = make_worker(factory, "bus-test-ready")
    identity = handlers.authenticate(key)
    assert identity is not None
    handlers.worker_ready(identity, {"system:architectures": ["amd64"]})
    with factory() as session:
        worker = session.get_one(Worker, worker_id)
        assert worker.connected
        assert worker.dynamic_metadata == {"system:architectures": ["amd64"]}
        assert worker.dynamic_metadata_updated_at is not None
    handlers.worker_lost(identity)
    with factory() as session:
        assert not session.get_one(Worker, worker_id).connected
