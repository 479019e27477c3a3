"""Assets (signing keys, cloud accounts), their roles and usages."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from debusine.models import (
    Asset,
    AssetCategory,
    AssetRole,
    AssetUsage,
    AssetUsageRole,
    FileStore,
)
from debusine.models.assets import AssetRoles, AssetUsageRoles
from tests.factories import (
    CloudAccountAssetFactory,
    FileStoreFactory,
    GroupFactory,
    SigningKeyAssetFactory,
    WorkspaceFactory,
)
from tests.models.conftest import Refused

FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def test_signing_key_needs_a_workspace(refused: Refused, db_session: Session) -> None:
    with refused("ck_asset_signing_key_has_workspace"):
        db_session.add(
            Asset(category=AssetCategory.SIGNING_KEY, data={"fingerprint": FINGERPRINT})
        )


def test_cloud_account_needs_no_workspace(db_session: Session) -> None:
    account = CloudAccountAssetFactory()
    assert account.workspace_id is None


def test_one_asset_per_signing_key_fingerprint(
    refused: Refused, db_session: Session
) -> None:
    first = SigningKeyAssetFactory(data={"fingerprint": FINGERPRINT})
    # Even from another workspace: a key is one asset, used elsewhere by AssetUsage.
    other_workspace = WorkspaceFactory()
    assert other_workspace.id != first.workspace_id
    with refused("uq_asset_signing_key_fingerprint"):
        db_session.add(
            Asset(
                category=AssetCategory.SIGNING_KEY,
                workspace_id=other_workspace.id,
                data={"fingerprint": FINGERPRINT, "purpose": "uefi"},
            )
        )


def test_different_fingerprints(db_session: Session) -> None:
    SigningKeyAssetFactory(data={"fingerprint": FINGERPRINT})
    SigningKeyAssetFactory(data={"fingerprint": FINGERPRINT.lower()})
    SigningKeyAssetFactory()
    assert len(db_session.scalars(select(Asset)).all()) == 3


def test_fingerprint_uniqueness_is_only_for_signing_keys(db_session: Session) -> None:
    SigningKeyAssetFactory(data={"fingerprint": FINGERPRINT})
    CloudAccountAssetFactory(data={"name": "x", "fingerprint": FINGERPRINT})
    CloudAccountAssetFactory(data={"name": "y", "fingerprint": FINGERPRINT})
    db_session.flush()


def test_one_cloud_account_per_name(refused: Refused, db_session: Session) -> None:
    CloudAccountAssetFactory(data={"name": "aws-main"})
    SigningKeyAssetFactory(data={"fingerprint": "A", "name": "aws-main"})  # not a cloud
    with refused("uq_asset_cloud_account_name"):
        CloudAccountAssetFactory(data={"name": "aws-main"})


def test_category_known(refused: Refused, raw_insert) -> None:
    with refused("ck_asset_asset_category"):
        raw_insert(Asset, category="debusine:password", data={})


def test_asset_roles(refused: Refused, raw_insert, db_session: Session) -> None:
    asset = SigningKeyAssetFactory()
    group = GroupFactory()
    db_session.add(
        AssetRole(asset_id=asset.id, group_id=group.id, role=AssetRoles.OWNER)
    )
    db_session.flush()
    with refused("uq_asset_role_asset_id_group_id_role"):
        db_session.add(
            AssetRole(asset_id=asset.id, group_id=group.id, role=AssetRoles.OWNER)
        )
    with refused("ck_asset_role_asset_role"):
        raw_insert(AssetRole, asset_id=asset.id, group_id=group.id, role="signer")


def test_asset_usage(refused: Refused, raw_insert, db_session: Session) -> None:
    asset = SigningKeyAssetFactory()
    workspace = WorkspaceFactory()
    usage = AssetUsage(asset_id=asset.id, workspace_id=workspace.id)
    db_session.add(usage)
    db_session.flush()
    with refused("uq_asset_usage_asset_id_workspace_id"):
        db_session.add(AssetUsage(asset_id=asset.id, workspace_id=workspace.id))
    group = GroupFactory(scope=workspace.scope)
    db_session.add(
        AssetUsageRole(
            asset_usage_id=usage.id, group_id=group.id, role=AssetUsageRoles.SIGNER
        )
    )
    db_session.flush()
    with refused("uq_asset_usage_role_asset_usage_id_group_id_role"):
        raw_insert(
            AssetUsageRole, asset_usage_id=usage.id, group_id=group.id, role="signer"
        )
    with refused("ck_asset_usage_role_asset_usage_role"):
        raw_insert(
            AssetUsageRole, asset_usage_id=usage.id, group_id=group.id, role="owner"
        )


def test_deleting_an_asset_removes_roles_and_usages(db_session: Session) -> None:
    asset = SigningKeyAssetFactory()
    workspace, group = WorkspaceFactory(), GroupFactory()
    usage = AssetUsage(asset_id=asset.id, workspace_id=workspace.id)
    db_session.add_all(
        [usage, AssetRole(asset_id=asset.id, group_id=group.id, role=AssetRoles.OWNER)]
    )
    db_session.flush()
    db_session.add(
        AssetUsageRole(
            asset_usage_id=usage.id, group_id=group.id, role=AssetUsageRoles.SIGNER
        )
    )
    db_session.flush()
    db_session.execute(delete(Asset).where(Asset.id == asset.id))
    for model in (AssetRole, AssetUsage, AssetUsageRole):
        assert db_session.scalars(select(model)).all() == [], model


def test_provider_account_of_a_store_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    account = CloudAccountAssetFactory()
    store = FileStoreFactory(provider_account_id=account.id)
    assert db_session.get(FileStore, store.id).provider_account_id == account.id
    with refused("fk_file_store_provider_account_id_asset"):
        db_session.execute(delete(Asset).where(Asset.id == account.id))
