"""Event reactions: what a work request asks the server to do at its events.

`WorkRequest.event_reactions` maps an event (`on_creation`, `on_unblock`,
`on_assignment`, `on_success`, `on_failure`) to a list of actions:

* `send-notification` (`channel`, `data`): an email through a
  NotificationChannel, sent after the commit (the only action users may
  give through the API);
* `update-collection-with-artifacts` (`collection`, `name_template`,
  `variables`, `artifact_filters`, `created_at`): add the artifacts the
  request created to a collection, replacing an item of the same name
  (a workflow's promise); `variables` keys starting with `$` are JSONPath
  expressions on the artifact's data;
* `update-collection-with-data` (`collection`, `category`,
  `name_template`, `data`, `created_at`): add a bare item;
* `retry-with-delays` (`delays` like `30m`, `2h`, `1d`, `1w`): retry the
  failed request once the next delay has passed (a `delay` wait task it
  depends on), until the delays are used up;
* `skip-if-lookup-result-changed` (`lookup`, `collection_item_id`,
  `promise_name`): complete as skipped when the lookup no longer finds
  the item the request was made for;
* `record-in-task-history` (`subject`, `context`): record the run in the
  workspace's `_@debusine:task-history`, if it has one.

`run_reactions` runs an event's reactions in the caller's transaction,
inside a savepoint: if one fails, everything they changed is rolled back
and the request completes as `error` with code `event-reaction-failed`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from jsonpath_ng import parse as parse_jsonpath  # type: ignore[import-untyped]
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from debusine.collections.base import get_manager
from debusine.collections.lookups import NotFound, lookup_single
from debusine.collections.task_history import HISTORICAL_RUN
from debusine.collections.workflow_internal import PROMISE
from debusine.db.transaction_cache import TransactionCache
from debusine.errors import DomainError
from debusine.models import (
    Artifact,
    CollectionItem,
    NotificationChannel,
    TaskType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.models import (
    Collection as CollectionModel,
)
from debusine.tasks.fields import LookupSingle
from debusine.work_request_context import WorkRequestContext

log = logging.getLogger(__name__)

ON_CREATION = "on_creation"
ON_UNBLOCK = "on_unblock"
ON_ASSIGNMENT = "on_assignment"
ON_SUCCESS = "on_success"
ON_FAILURE = "on_failure"
EVENTS = (ON_CREATION, ON_UNBLOCK, ON_ASSIGNMENT, ON_SUCCESS, ON_FAILURE)
# What users may ask for through the API: the rest is for workflows.
USER_ACTIONS = frozenset({"send-notification"})
FAILED_CODE = "event-reaction-failed"
TASK_HISTORY_CATEGORY = "debusine:task-history"
# Task types whose runs go into the task history.
HISTORY_TASK_TYPES = (TaskType.WORKER, TaskType.SERVER, TaskType.SIGNING)
DEFAULT_SUBJECT = "WorkRequest $work_request_id completed in $work_request_result"

_DELAY = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_DELAY_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class EventReactionsError(DomainError):
    """`event_reactions` that cannot be accepted; `errors` maps field paths."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        super().__init__(
            "; ".join(
                f"{path}: {' '.join(messages)}"
                for path, messages in sorted(self.errors.items())
            )
        )


def parse_delay(value: str) -> dt.timedelta:
    """`30m`, `2h`, `1d`, `1w` as a timedelta; ValueError otherwise."""
    match = _DELAY.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a delay: a positive number followed by"
            " m (minutes), h (hours), d (days) or w (weeks), e.g. 30m"
        )
    return dt.timedelta(**{_DELAY_UNITS[match.group(2)]: int(match.group(1))})


# --- schemas -----------------------------------------------------------------


class _Reaction(Schema):
    class Meta:
        unknown = RAISE

    action = fields.String(required=True)


class NotificationEmailData(Schema):
    """Per-reaction overrides of the channel's email settings."""

    class Meta:
        unknown = RAISE

    from_ = fields.Email(data_key="from")
    to = fields.List(fields.Email())
    cc = fields.List(fields.Email())
    subject = fields.String(validate=validate.Length(min=1, max=998))


class SendNotification(_Reaction):
    channel = fields.String(required=True, validate=validate.Length(min=1, max=20))
    data = fields.Nested(NotificationEmailData, load_default=None, allow_none=True)


def _check_created_at(value: str | None) -> None:
    if value is None:
        return
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("Expected an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise ValidationError("Expected a time zone, e.g. 2025-01-31T12:00:00+00:00")


def _check_variables(value: Mapping[str, Any]) -> None:
    for key, expression in value.items():
        if not key.startswith("$"):
            continue
        if not isinstance(expression, str):
            raise ValidationError(f"{key}: a JSONPath expression must be a string")
        try:
            parse_jsonpath(expression)
        except Exception as error:  # the parser raises several kinds
            raise ValidationError(
                f"{key}: {expression!r} is not a JSONPath expression ({error})"
            ) from None


_FILTER_KEY = re.compile(r"^(category|data(__[A-Za-z0-9_.:+-]+?)+)$")


def _check_artifact_filters(value: Mapping[str, Any]) -> None:
    for key in value:
        if not _FILTER_KEY.match(key) or key.endswith("__"):
            raise ValidationError(
                f"{key!r}: artifact filters are `category` or `data__KEY[__KEY...]`"
            )


class UpdateCollectionWithArtifacts(_Reaction):
    collection = LookupSingle(required=True)
    name_template = fields.String(load_default=None, allow_none=True)
    variables = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)
    artifact_filters = fields.Dict(keys=fields.String(), required=True)
    created_at = fields.String(load_default=None, allow_none=True)

    @validates("variables")
    def _variables(self, value: Any, **kwargs: Any) -> None:
        _check_variables(value or {})

    @validates("artifact_filters")
    def _filters(self, value: Any, **kwargs: Any) -> None:
        _check_artifact_filters(value)

    @validates("created_at")
    def _created_at(self, value: Any, **kwargs: Any) -> None:
        _check_created_at(value)


class UpdateCollectionWithData(_Reaction):
    collection = LookupSingle(required=True)
    category = fields.String(required=True, validate=validate.Length(min=1))
    name_template = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)
    created_at = fields.String(load_default=None, allow_none=True)

    @validates("created_at")
    def _created_at(self, value: Any, **kwargs: Any) -> None:
        _check_created_at(value)


class RetryWithDelays(_Reaction):
    delays = fields.List(
        fields.String(), required=True, validate=validate.Length(min=1)
    )

    @validates("delays")
    def _delays(self, value: list[str], **kwargs: Any) -> None:
        for delay in value:
            try:
                parse_delay(delay)
            except ValueError as error:
                raise ValidationError(str(error)) from None


class SkipIfLookupResultChanged(_Reaction):
    lookup = LookupSingle(required=True)
    collection_item_id = fields.Integer(strict=True, required=True, allow_none=True)
    promise_name = fields.String(load_default=None, allow_none=True)


class RecordInTaskHistory(_Reaction):
    subject = fields.String(load_default=None, allow_none=True)
    context = fields.String(load_default=None, allow_none=True)


SCHEMAS: dict[str, type[Schema]] = {
    "send-notification": SendNotification,
    "update-collection-with-artifacts": UpdateCollectionWithArtifacts,
    "update-collection-with-data": UpdateCollectionWithData,
    "retry-with-delays": RetryWithDelays,
    "skip-if-lookup-result-changed": SkipIfLookupResultChanged,
    "record-in-task-history": RecordInTaskHistory,
}


def _flatten(prefix: str, messages: Any, into: dict[str, list[str]]) -> None:
    if isinstance(messages, Mapping):
        for key, nested in messages.items():
            _flatten(f"{prefix}.{key}", nested, into)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        into.setdefault(prefix, []).extend(messages)
    else:
        into.setdefault(prefix, []).append(str(messages))


def validate_event_reactions(
    value: Any,
    *,
    allowed_actions: Collection[str] | None = None,
    session: Session | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """`value` checked; raise EventReactionsError naming each bad field.

    `allowed_actions` limits the actions (USER_ACTIONS for the API); with
    a `session`, the notification channels must exist.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventReactionsError(
            {"event_reactions": ["Expected an object mapping events to lists"]}
        )
    errors: dict[str, list[str]] = {}
    checked: dict[str, list[dict[str, Any]]] = {}
    for event_name, reactions in value.items():
        path = f"event_reactions.{event_name}"
        if event_name not in EVENTS:
            errors[path] = [f"Unknown event; expected one of {', '.join(EVENTS)}"]
            continue
        if not isinstance(reactions, list):
            errors[path] = ["Expected a list of reactions"]
            continue
        for index, reaction in enumerate(reactions):
            where = f"{path}.{index}"
            action = reaction.get("action") if isinstance(reaction, Mapping) else None
            if not isinstance(reaction, Mapping):
                errors[where] = ["Expected an object with an action"]
                continue
            if action not in SCHEMAS:
                errors[f"{where}.action"] = [
                    f"Unknown action {action!r}; expected one of"
                    f" {', '.join(sorted(SCHEMAS))}"
                ]
                continue
            if allowed_actions is not None and action not in allowed_actions:
                errors[f"{where}.action"] = [
                    f"Action {action!r} may not be given here; allowed:"
                    f" {', '.join(sorted(allowed_actions))}"
                ]
                continue
            try:
                loaded = SCHEMAS[action]().load(dict(reaction))
            except ValidationError as error:
                _flatten(where, error.messages, errors)
                continue
            if (
                session is not None
                and action == "send-notification"
                and _channel(session, loaded["channel"]) is None
            ):
                errors[f"{where}.channel"] = [
                    f"No notification channel named {loaded['channel']!r}"
                ]
                continue
        checked[event_name] = [dict(reaction) for reaction in reactions]
    if errors:
        raise EventReactionsError(errors)
    return checked


def default_reactions(
    session: Session, workspace_id: int, task_type: TaskType
) -> dict[str, list[dict[str, Any]]]:
    """What every task records: its runs, when the workspace keeps a history."""
    if (
        task_type not in HISTORY_TASK_TYPES
        or _task_history(session, workspace_id) is None
    ):
        return {}
    record = {"action": "record-in-task-history", "subject": None, "context": None}
    return {ON_SUCCESS: [dict(record)], ON_FAILURE: [dict(record)]}


def merge_reactions(
    first: Mapping[str, Any], second: Mapping[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """`first` then `second`, per event, without repeating a reaction."""
    merged: dict[str, list[dict[str, Any]]] = {
        name: list(reactions) for name, reactions in first.items()
    }
    for name, reactions in second.items():
        current = merged.setdefault(name, [])
        current.extend(r for r in reactions if r not in current)
    return merged


# --- running ----------------------------------------------------------------


class ReactionFailed(Exception):
    """A reaction could not be carried out; the message says which and why."""


@dataclass(frozen=True)
class _Context(WorkRequestContext):
    session: Session
    work_request: WorkRequest
    event: str


def run_reactions(session: Session, work_request: WorkRequest, event_name: str) -> bool:
    """Run the request's reactions to `event_name`; False if one failed.

    A failure rolls back what the event's reactions changed, and completes
    the request as `error` (see `_record_failure`).
    """
    reactions = list((work_request.event_reactions or {}).get(event_name) or [])
    if not reactions:
        return True
    context = _Context(session, work_request, event_name)
    queued = len(_outbox(session))
    try:
        with session.begin_nested():
            for index, reaction in enumerate(reactions):
                action = str(reaction.get("action"))
                try:
                    _ACTIONS[action](context, reaction)
                except Exception as error:
                    raise ReactionFailed(
                        f"{event_name} reaction {index} ({action}) failed:"
                        f" {_describe(error)}"
                    ) from error
    except ReactionFailed as failure:
        del _outbox(session)[queued:]
        log.warning("work request %s: %s", work_request.id, failure)
        _record_failure(session, work_request, event_name, str(failure))
        return False
    return True


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing {error}"
    return str(error) or type(error).__name__


def _record_failure(
    session: Session, work_request: WorkRequest, event_name: str, message: str
) -> None:
    """The request ends as `error`, saying which reaction failed and why."""
    from debusine import work_requests

    error = {"code": FAILED_CODE, "message": message}
    if work_request.status in (WorkRequestStatus.COMPLETED, WorkRequestStatus.ABORTED):
        output = dict(work_request.output_data or {})
        output["errors"] = [*(output.get("errors") or []), error]
        work_request.output_data = output
        was_success = work_request.result == WorkRequestResult.SUCCESS
        if work_request.status == WorkRequestStatus.COMPLETED:
            work_request.result = WorkRequestResult.ERROR
        session.flush()
        if was_success and event_name == ON_SUCCESS:
            run_reactions(session, work_request, ON_FAILURE)
        return
    work_requests.mark_completed(
        session, work_request, WorkRequestResult.ERROR, {"errors": [error]}
    )


def _format_name(template: str | None, values: Mapping[str, Any]) -> str | None:
    if template is None:
        return None
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as error:
        raise DomainError(
            f"name_template {template!r} cannot be filled in: {_describe(error)}"
        ) from None


def _created_at(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _set_created_at(item: CollectionItem, created_at: dt.datetime | None) -> None:
    if created_at is not None:
        item.created_at = created_at


def _expand_variables(
    variables: Mapping[str, Any], artifact: Artifact
) -> dict[str, Any]:
    """Literal values as they are; `$key` JSONPath expressions on the data."""
    expanded: dict[str, Any] = {}
    for key, value in variables.items():
        if not key.startswith("$"):
            expanded[key] = value
            continue
        matches = parse_jsonpath(value).find(artifact.data)
        if not matches:
            raise DomainError(
                f"variable {key}: {value!r} matches nothing in the data of"
                f" artifact {artifact.id}"
            )
        expanded[key[1:]] = matches[0].value
    return expanded


def _artifact_query(work_request: WorkRequest, filters: Mapping[str, Any]) -> Any:
    query = select(Artifact).where(
        Artifact.created_by_work_request_id == work_request.id
    )
    for key, value in filters.items():
        if key == "category":
            query = query.where(Artifact.category == value)
            continue
        path = key.split("__")[1:]
        query = query.where(Artifact.data[tuple(path)] == _jsonb(value))
    return query.order_by(Artifact.id)


def _jsonb(value: Any) -> Any:
    from sqlalchemy import cast, literal
    from sqlalchemy.dialects.postgresql import JSONB

    return cast(literal(value, JSONB), JSONB)


def _update_collection_with_artifacts(
    context: _Context, reaction: Mapping[str, Any]
) -> None:
    collection = context.collection(reaction["collection"])
    manager = get_manager(context.session, collection)
    artifacts = context.session.scalars(
        _artifact_query(context.work_request, reaction["artifact_filters"])
    ).all()
    created_at = _created_at(reaction.get("created_at"))
    for artifact in artifacts:
        variables = _expand_variables(reaction.get("variables") or {}, artifact)
        item = manager.add_artifact(
            artifact,
            variables=variables,
            name=_format_name(reaction.get("name_template"), variables),
            replace=True,
            **context.item_creator,
        )
        _set_created_at(item, created_at)


def _update_collection_with_data(
    context: _Context, reaction: Mapping[str, Any]
) -> None:
    collection = context.collection(reaction["collection"])
    data = dict(reaction.get("data") or {})
    item = get_manager(context.session, collection).add_bare_data(
        reaction["category"],
        data=data,
        name=_format_name(reaction.get("name_template"), data),
        replace=True,
        **context.item_creator,
    )
    _set_created_at(item, _created_at(reaction.get("created_at")))


def _retry_with_delays(context: _Context, reaction: Mapping[str, Any]) -> None:
    """Retry after the next delay: a `delay` wait task the retry depends on."""
    from debusine import work_requests

    session, work_request = context.session, context.work_request
    delays = list(reaction["delays"])
    retry_count = int(work_request.workflow_data.get("retry_count", 0))
    if retry_count >= len(delays) or work_requests.is_superseded(session, work_request):
        return
    delay_until = dt.datetime.now(dt.UTC) + parse_delay(delays[retry_count])
    wait = work_requests.create_work_request(
        session,
        workspace=work_request.workspace,
        task_type=TaskType.WAIT,
        task_name="delay",
        task_data={"delay_until": delay_until.isoformat()},
        created_by=work_request.created_by,
        parent=work_request.parent,
        workflow_data={
            "display_name": f"Wait {delays[retry_count]} before retrying",
            "step": f"retry-delay-{work_request.id}",
        },
    )
    new = work_requests.retry(session, work_request, work_requests.RetryReason.DELAY)
    work_requests.add_dependency(session, new, wait)


def _skip_if_lookup_result_changed(
    context: _Context, reaction: Mapping[str, Any]
) -> None:
    """Skip a run made for an item the lookup no longer finds.

    With `promise_name`, the promise in the workflow's internal collection
    is fulfilled by the artifact the lookup finds now.
    """
    from debusine import work_requests

    try:
        result = lookup_single(
            context.session,
            reaction["lookup"],
            workspace=context.work_request.workspace,
            actor=context.actor,
            workflow_root=context.root,
        )
        item = result.collection_item
    except NotFound:
        result, item = None, None
    found = item.id if item is not None else None
    if found == reaction.get("collection_item_id"):
        return
    promise_name = reaction.get("promise_name")
    if promise_name and result is not None and result.artifact is not None:
        internal = context.root.internal_collection
        if internal is None:
            raise DomainError("promise_name given, but the workflow has no promises")
        manager = get_manager(context.session, internal)
        promise = manager.lookup_name(promise_name)
        if promise is not None and promise.category == PROMISE:
            variables = {
                k: v for k, v in promise.data.items() if not k.startswith("promise_")
            }
            manager.add_artifact(
                result.artifact,
                variables=variables,
                name=promise_name,
                replace=True,
                **context.item_creator,
            )
    work_requests.mark_completed(
        context.session,
        context.work_request,
        WorkRequestResult.SKIPPED,
        {
            "skip_reason": (
                f"Result of lookup {reaction['lookup']!r} changed"
                f" (item {reaction.get('collection_item_id')} -> {found})"
            )
        },
    )


# Asked once per new work request: a workflow laying out thousands of
# children asks the database once per workspace.
_task_histories = TransactionCache("task_histories", (CollectionModel,))


def _task_history(session: Session, workspace_id: int) -> CollectionModel | None:
    cache = _task_histories(session)
    if workspace_id not in cache:
        cache[workspace_id] = session.scalar(
            select(CollectionModel).where(
                CollectionModel.workspace_id == workspace_id,
                CollectionModel.category == TASK_HISTORY_CATEGORY,
                CollectionModel.name == "_",
            )
        )
    history: CollectionModel | None = cache[workspace_id]
    return history


def _record_in_task_history(context: _Context, reaction: Mapping[str, Any]) -> None:
    work_request = context.work_request
    collection = _task_history(context.session, work_request.workspace_id)
    if collection is None:
        return
    dynamic = work_request.dynamic_task_data or {}
    output = work_request.output_data or {}
    completed_at = work_request.completed_at or dt.datetime.now(dt.UTC)
    data = {
        "task_type": work_request.task_type.value,
        "task_name": work_request.task_name,
        "subject": reaction.get("subject") or dynamic.get("subject"),
        "context": reaction.get("context") or dynamic.get("runtime_context"),
        "timestamp": int(completed_at.timestamp()),
        "work_request_id": work_request.id,
        "result": work_request.result.value,
        "runtime_statistics": dict(output.get("runtime_statistics") or {}),
    }
    get_manager(context.session, collection).add_bare_data(
        HISTORICAL_RUN, data=data, replace=True, **context.item_creator
    )


# --- notifications, sent after the commit ----------------------------------------


def _channel(session: Session, name: str) -> NotificationChannel | None:
    return session.scalar(
        select(NotificationChannel).where(NotificationChannel.name == name)
    )


@dataclass(frozen=True)
class OutgoingEmail:
    """An email to send once the transaction that asked for it commits."""

    message: EmailMessage
    smtp_host: str
    smtp_port: int
    starttls: bool


_OUTBOX_KEY = "debusine.event_reactions.outbox"


def _outbox(session: Session) -> list[OutgoingEmail]:
    outbox = session.info.get(_OUTBOX_KEY)
    if outbox is None:
        outbox = session.info[_OUTBOX_KEY] = []
        event.listen(session, "after_commit", _send_outbox)
        event.listen(session, "after_transaction_end", _drop_outbox)
    return outbox


def _send_outbox(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on
    outbox = session.info.get(_OUTBOX_KEY) or []
    pending, outbox[:] = list(outbox), []
    for email in pending:
        send_email(email)


def _drop_outbox(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit: nothing is sent.
    if transaction.parent is None:
        outbox = session.info.get(_OUTBOX_KEY)
        if outbox:
            outbox.clear()


def send_email(email: OutgoingEmail) -> bool:
    """Send it now; False (logged) if the SMTP server refused it."""
    try:
        with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=30) as smtp:
            if email.starttls:
                smtp.starttls()
            smtp.send_message(email.message)
    except (OSError, smtplib.SMTPException):
        log.exception(
            "notification to %s through %s:%s failed",
            email.message["To"],
            email.smtp_host,
            email.smtp_port,
        )
        return False
    return True


def _send_notification(context: _Context, reaction: Mapping[str, Any]) -> None:
    channel = _channel(context.session, reaction["channel"])
    if channel is None:
        raise DomainError(f"no notification channel named {reaction['channel']!r}")
    settings = {**channel.data, **(reaction.get("data") or {})}
    recipients = list(settings.get("to") or [])
    if not recipients or not settings.get("from"):
        raise DomainError(
            f"notification channel {channel.name!r} needs `from` and `to` addresses"
        )
    work_request = context.work_request
    values = {
        "work_request_id": work_request.id,
        "work_request_result": work_request.result.value or "",
        "work_request_status": work_request.status.value,
        "task_name": work_request.task_name,
        "event": context.event,
    }
    message = EmailMessage()
    message["From"] = settings["from"]
    message["To"] = ", ".join(recipients)
    if settings.get("cc"):
        message["Cc"] = ", ".join(settings["cc"])
    message["Subject"] = string.Template(
        settings.get("subject") or DEFAULT_SUBJECT
    ).safe_substitute(values)
    message.set_content(
        "\n".join(
            [
                f"Work request {work_request.id} ({work_request.task_type.value}"
                f" {work_request.task_name})",
                f"Workspace: {work_request.workspace.name}",
                f"Event: {context.event}",
                f"Status: {work_request.status.value}",
                f"Result: {work_request.result.value or '-'}",
            ]
        )
        + "\n"
    )
    _outbox(context.session).append(
        OutgoingEmail(
            message,
            str(channel.data.get("smtp_host") or "localhost"),
            int(channel.data.get("smtp_port") or 25),
            bool(channel.data.get("smtp_starttls", False)),
        )
    )


_ACTIONS: dict[str, Callable[[_Context, Mapping[str, Any]], None]] = {
    "send-notification": _send_notification,
    "update-collection-with-artifacts": _update_collection_with_artifacts,
    "update-collection-with-data": _update_collection_with_data,
    "retry-with-delays": _retry_with_delays,
    "skip-if-lookup-result-changed": _skip_if_lookup_result_changed,
    "record-in-task-history": _record_in_task_history,
}


__all__ = [
    "EVENTS",
    "USER_ACTIONS",
    "EventReactionsError",
    "OutgoingEmail",
    "default_reactions",
    "merge_reactions",
    "parse_delay",
    "run_reactions",
    "send_email",
    "validate_event_reactions",
]
