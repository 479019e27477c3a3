"""Whom code running for a work request acts as, and what it looks up.

Shared by event reactions, server tasks, workflows and dynamic task data:
they all look things up with the permissions of the work request's creator,
or, for a request no user created (the system made it), seeing everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from debusine.collections.lookups import ExpectType, LookupResult, lookup_single
from debusine.models import Artifact, Collection, WorkRequest
from debusine.permissions import Actor


class SystemActor(Actor):
    """Whom requests no user created act as: the system, which sees all."""

    @property
    def is_superuser(self) -> bool:
        return True


def acting_for(work_request: WorkRequest) -> Actor:
    """The actor lookups made for `work_request` use."""
    if work_request.created_by is None:
        return SystemActor()
    return Actor(user=work_request.created_by)


def root_of(work_request: WorkRequest) -> WorkRequest:
    """The root workflow of `work_request` (itself, if it has no parent)."""
    while work_request.parent is not None:
        work_request = work_request.parent
    return work_request


class WorkRequestContext:
    """A mixin for contexts that have `session` and `work_request`."""

    session: Session
    work_request: WorkRequest

    @property
    def actor(self) -> Actor:
        return acting_for(self.work_request)

    @property
    def root(self) -> WorkRequest:
        return root_of(self.work_request)

    def collection(self, lookup: str | int) -> Collection:
        """The collection `lookup` names, as the work request sees it."""
        collection = self._lookup(lookup, ExpectType.COLLECTION).collection
        assert collection is not None
        return collection

    def artifact(self, lookup: str | int) -> Artifact:
        """The artifact `lookup` names, as the work request sees it."""
        artifact = self._lookup(lookup, ExpectType.ARTIFACT).artifact
        assert artifact is not None
        return artifact

    def _lookup(self, lookup: str | int, expect_type: ExpectType) -> LookupResult:
        return lookup_single(
            self.session,
            lookup,
            workspace=self.work_request.workspace,
            actor=self.actor,
            expect_type=expect_type,
            workflow_root=self.root,
        )

    @property
    def item_creator(self) -> dict[str, Any]:
        """Who collection items are attributed to: the workflow, or the user."""
        if self.work_request.parent is not None:
            return {"workflow": self.work_request.parent}
        return {"user": self.work_request.created_by}
