"""The domain models, one module per domain. Importing this registers them all."""

from debusine.models.artifacts import (
    Artifact,
    ArtifactRelation,
    ArtifactRelationType,
    FileInArtifact,
    FileUpload,
)
from debusine.models.assets import (
    Asset,
    AssetCategory,
    AssetRole,
    AssetUsage,
    AssetUsageRole,
)
from debusine.models.auth import (
    Group,
    GroupAuditLog,
    GroupMembership,
    GroupMembershipRoles,
    Identity,
    Token,
    User,
)
from debusine.models.collections import (
    Collection,
    CollectionItem,
    CollectionItemMatchConstraint,
    CollectionItemType,
    RetainsArtifacts,
)
from debusine.models.files import File, FileInStore, FileStore, FileStoreBackend
from debusine.models.scopes import FileStoreInScope, Scope, ScopeRole, ScopeRoles
from debusine.models.work_request_logs import WorkRequestLog, WorkRequestProgress
from debusine.models.work_requests import (
    NotificationChannel,
    TaskType,
    UnblockStrategy,
    WorkflowRuntimeStatus,
    WorkflowTemplate,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    work_request_dependency,
)
from debusine.models.workers import ScopeWorkerPool, Worker, WorkerPool, WorkerType
from debusine.models.workspaces import (
    Workspace,
    WorkspaceChain,
    WorkspaceRole,
    WorkspaceRoles,
)

__all__ = [
    "Artifact",
    "ArtifactRelation",
    "ArtifactRelationType",
    "Asset",
    "AssetCategory",
    "AssetRole",
    "AssetUsage",
    "AssetUsageRole",
    "Collection",
    "CollectionItem",
    "CollectionItemMatchConstraint",
    "CollectionItemType",
    "File",
    "FileInArtifact",
    "FileInStore",
    "FileStore",
    "FileStoreBackend",
    "FileStoreInScope",
    "FileUpload",
    "Group",
    "GroupAuditLog",
    "GroupMembership",
    "GroupMembershipRoles",
    "Identity",
    "NotificationChannel",
    "RetainsArtifacts",
    "Scope",
    "ScopeRole",
    "ScopeRoles",
    "ScopeWorkerPool",
    "TaskType",
    "Token",
    "UnblockStrategy",
    "User",
    "WorkRequest",
    "WorkRequestLog",
    "WorkRequestProgress",
    "WorkRequestResult",
    "WorkRequestStatus",
    "Worker",
    "WorkerPool",
    "WorkerType",
    "WorkflowRuntimeStatus",
    "WorkflowTemplate",
    "Workspace",
    "WorkspaceChain",
    "WorkspaceRole",
    "WorkspaceRoles",
    "work_request_dependency",
]
