"""Fixtures for the workflow tests: a workspace, its owner, workflows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import TaskType, WorkRequest
from debusine.work_requests import create_work_request
from tests import factories

MakeWorkflow = Callable[..., WorkRequest]


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory(public=False)


@pytest.fixture
def user(db_session: Session, workspace: models.Workspace) -> models.User:
    """A contributor of the (private) workspace."""
    user = factories.UserFactory()
    group = factories.GroupFactory(scope=workspace.scope)
    db_session.add(models.GroupMembership(group=group, user=user))
    db_session.add(
        models.WorkspaceRole(
            workspace=workspace, group=group, role=models.WorkspaceRoles.CONTRIBUTOR
        )
    )
    db_session.flush()
    return user


@pytest.fixture
def make_workflow(
    db_session: Session, workspace: models.Workspace, user: models.User
) -> MakeWorkflow:
    """A new (pending) root workflow, as a user would start it."""

    def make(task_name: str = "noop", task_data: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("created_by", user)
        return create_work_request(
            db_session,
            workspace=workspace,
            task_type=TaskType.WORKFLOW,
            task_name=task_name,
            task_data=task_data if task_data is not None else {},
            **kwargs,
        )

    return make
