"""Workers, their tokens and metadata, and worker pools."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from debusine.models import (
    Asset,
    ScopeWorkerPool,
    Token,
    Worker,
    WorkerPool,
    WorkerType,
)
from tests.factories import (
    CloudAccountAssetFactory,
    ScopeFactory,
    TokenFactory,
    WorkerFactory,
    WorkerPoolFactory,
)
from tests.models.conftest import Refused


def test_defaults(db_session: Session) -> None:
    worker = WorkerFactory()
    db_session.expire(worker)
    assert worker.worker_type is WorkerType.EXTERNAL
    assert worker.concurrency == 1
    assert (worker.static_metadata, worker.dynamic_metadata) == ({}, {})
    assert worker.connected is False
    assert worker.registered_at is not None


def test_connected(db_session: Session) -> None:
    assert Worker(connected_at=dt.datetime.now(dt.UTC)).connected is True
    assert Worker(connected_at=None).connected is False


@pytest.mark.parametrize("worker_type", [WorkerType.EXTERNAL, WorkerType.SIGNING])
def test_external_and_signing_workers_need_a_token(
    refused: Refused, db_session: Session, worker_type: WorkerType
) -> None:
    with refused("ck_worker_has_token"):
        db_session.add(Worker(name="builder", worker_type=worker_type))


@pytest.mark.parametrize("worker_type", [WorkerType.EXTERNAL, WorkerType.SIGNING])
def test_an_activation_token_is_enough(
    db_session: Session, worker_type: WorkerType
) -> None:
    activation = TokenFactory(user=None, enabled=True)
    worker = Worker(
        name="builder", worker_type=worker_type, activation_token=activation
    )
    db_session.add(worker)
    db_session.flush()
    assert worker.token is None
    assert worker.activation_token is activation


def test_server_worker_needs_no_token(db_session: Session) -> None:
    worker = Worker(name="server", worker_type=WorkerType.SERVER, concurrency=4)
    db_session.add(worker)
    db_session.flush()
    assert worker.token_id is None


def test_worker_type_known(refused: Refused, raw_insert) -> None:
    token = TokenFactory(user=None)
    assert {t.value for t in WorkerType} == {"external", "signing", "server"}
    with refused("ck_worker_worker_type"):
        raw_insert(Worker, name="w", worker_type="celery", token_id=token.id)


@pytest.mark.parametrize("concurrency", [0, -1])
def test_concurrency_at_least_one(
    refused: Refused, db_session: Session, concurrency: int
) -> None:
    with refused("ck_worker_concurrency_positive"):
        WorkerFactory(concurrency=concurrency)


def test_name_unique(refused: Refused, db_session: Session) -> None:
    WorkerFactory(name="builder-1")
    with refused("uq_worker_name"):
        WorkerFactory(name="builder-1")


def test_one_worker_per_token(refused: Refused, db_session: Session) -> None:
    worker = WorkerFactory()
    with refused("uq_worker_token_id"):
        db_session.add(Worker(name="other", token=worker.token))
    activation = TokenFactory(user=None)
    WorkerFactory(activation_token=activation)
    with refused("uq_worker_activation_token_id"):
        WorkerFactory(activation_token=activation)


def test_the_only_token_of_a_worker_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    """Disable it instead: the worker row must keep a way to authenticate."""
    worker = WorkerFactory()
    with refused("ck_worker_has_token"):
        db_session.execute(delete(Token).where(Token.id == worker.token_id))


def test_replacing_the_activation_token_by_a_token(db_session: Session) -> None:
    activation = TokenFactory(user=None)
    worker = WorkerFactory(token=None, activation_token=activation)
    worker.token = TokenFactory(user=None)
    db_session.flush()
    db_session.execute(delete(Token).where(Token.id == activation.id))
    db_session.refresh(worker)
    assert worker.activation_token_id is None
    assert worker.token_id is not None


def test_effective_metadata_static_wins(db_session: Session) -> None:
    worker = WorkerFactory(
        dynamic_metadata={
            "system:architectures": ["amd64", "i386"],
            "system:cpu_count": 8,
            "sbuild:available": True,
        },
        static_metadata={"system:architectures": ["amd64"], "tasks_denylist": ["x"]},
    )
    db_session.expire(worker)
    assert worker.effective_metadata() == {
        "system:architectures": ["amd64"],
        "system:cpu_count": 8,
        "sbuild:available": True,
        "tasks_denylist": ["x"],
    }
    # Computing it changes neither side.
    assert worker.dynamic_metadata["system:architectures"] == ["amd64", "i386"]
    assert "tasks_denylist" not in worker.dynamic_metadata


def test_effective_metadata_empty() -> None:
    assert Worker(static_metadata={}, dynamic_metadata={}).effective_metadata() == {}


# --- worker pools ------------------------------------------------------------------


def test_worker_pool_name_unique(refused: Refused, db_session: Session) -> None:
    pool = WorkerPoolFactory(name="aws")
    with refused("uq_worker_pool_name"):
        db_session.add(
            WorkerPool(name="aws", provider_account_id=pool.provider_account_id)
        )


def test_provider_account_of_a_pool_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    pool = WorkerPoolFactory()
    with refused("fk_worker_pool_provider_account_id_asset"):
        db_session.execute(delete(Asset).where(Asset.id == pool.provider_account_id))


def test_deleting_a_pool_keeps_its_workers(db_session: Session) -> None:
    pool = WorkerPoolFactory()
    worker = WorkerFactory(worker_pool=pool, worker_pool_data={"instance": "i-1"})
    db_session.delete(pool)
    db_session.flush()
    db_session.refresh(worker)
    assert worker.worker_pool_id is None


def test_scope_worker_pool(refused: Refused, raw_insert, db_session: Session) -> None:
    scope, pool = ScopeFactory(), WorkerPoolFactory()
    db_session.add(
        ScopeWorkerPool(scope_id=scope.id, worker_pool_id=pool.id, priority=2)
    )
    db_session.flush()
    with refused("pk_scope_worker_pool"):
        raw_insert(ScopeWorkerPool, scope_id=scope.id, worker_pool_id=pool.id)
    CloudAccountAssetFactory()  # unrelated accounts are fine
    db_session.delete(pool)
    db_session.flush()
    assert db_session.get(ScopeWorkerPool, (scope.id, pool.id)) is None
