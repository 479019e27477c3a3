"""factory_boy factories for the models; bound to the test's session."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import factory
from sqlalchemy.orm import Session

from debusine import models

_session: Session | None = None


def bind(session: Session | None) -> None:
    global _session  # the factories' one shared session
    _session = session


def _current_session() -> Session:
    if _session is None:
        raise RuntimeError("factories used outside a test with db_session")
    return _session


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _current_session
        sqlalchemy_session_persistence = "flush"


class ScopeFactory(BaseFactory):
    class Meta:
        model = models.Scope

    name = factory.Sequence(lambda n: f"scope{n}")
    label = factory.LazyAttribute(lambda o: o.name.capitalize())


class UserFactory(BaseFactory):
    class Meta:
        model = models.User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")


class GroupFactory(BaseFactory):
    class Meta:
        model = models.Group

    scope = factory.SubFactory(ScopeFactory)
    name = factory.Sequence(lambda n: f"group{n}")


class WorkspaceFactory(BaseFactory):
    class Meta:
        model = models.Workspace

    scope = factory.SubFactory(ScopeFactory)
    name = factory.Sequence(lambda n: f"workspace{n}")


class TokenFactory(BaseFactory):
    """A token; its key is in `token.key` (only tests ever see keys again)."""

    class Meta:
        model = models.Token

    key = factory.Sequence(lambda n: f"test-token-key-{n:08d}")
    hash = factory.LazyAttribute(lambda o: models.auth.hash_token_key(o.key))
    user = factory.SubFactory(UserFactory)
    enabled = True

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        key = kwargs.pop("key", None)
        token = super()._create(model_class, *args, **kwargs)
        token.key = key
        return token


class WorkerFactory(BaseFactory):
    class Meta:
        model = models.Worker

    name = factory.Sequence(lambda n: f"worker-{n}")
    token = factory.SubFactory(TokenFactory, user=None)


class FileFactory(BaseFactory):
    class Meta:
        model = models.File

    sha256 = factory.Sequence(lambda n: hashlib.sha256(str(n).encode()).digest())
    size = 100


class ArtifactFactory(BaseFactory):
    class Meta:
        model = models.Artifact

    workspace = factory.SubFactory(WorkspaceFactory)
    category = "debusine:test"
    data = factory.LazyFunction(dict)


class CollectionFactory(BaseFactory):
    class Meta:
        model = models.Collection

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"collection{n}")
    category = "debian:suite"


class WorkRequestFactory(BaseFactory):
    class Meta:
        model = models.WorkRequest

    workspace = factory.SubFactory(WorkspaceFactory)
    task_type = models.TaskType.WORKER
    task_name = "noop"
    task_data = factory.LazyFunction(lambda: {"result": True})


class WorkflowTemplateFactory(BaseFactory):
    class Meta:
        model = models.WorkflowTemplate

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"template{n}")
    task_name = "noop"


class FileStoreFactory(BaseFactory):
    class Meta:
        model = models.FileStore

    name = factory.Sequence(lambda n: f"store{n}")
    backend = models.FileStoreBackend.MEMORY


class SigningKeyAssetFactory(BaseFactory):
    """A `debusine:signing-key` asset (the key itself lives in the signer)."""

    class Meta:
        model = models.Asset

    category = models.AssetCategory.SIGNING_KEY
    # Asset has no `workspace` relationship: pass `workspace_id`.
    workspace_id = factory.LazyFunction(lambda: WorkspaceFactory().id)
    data = factory.Sequence(
        lambda n: {"purpose": "openpgp", "fingerprint": f"{n:040X}", "public_key": ""}
    )


class CloudAccountAssetFactory(BaseFactory):
    class Meta:
        model = models.Asset

    category = models.AssetCategory.CLOUD_PROVIDER_ACCOUNT
    data = factory.Sequence(lambda n: {"provider_type": "dummy", "name": f"cloud{n}"})


class WorkerPoolFactory(BaseFactory):
    class Meta:
        model = models.WorkerPool

    name = factory.Sequence(lambda n: f"pool{n}")
    provider_account_id = factory.LazyFunction(lambda: CloudAccountAssetFactory().id)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
