"""Declarative base shared by every model: naming conventions and type map."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Interval, MetaData, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.attributes import instance_state, manager_of_class

# Every index and constraint gets a predictable name, so that migrations can
# refer to them and `alembic check` compares like with like.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

JSONDict = dict[str, Any]


class Base(DeclarativeBase):
    """Base class of every debusine model."""

    metadata = metadata
    type_annotation_map = {
        # None is SQL NULL ("none yet"), never the JSON value `null`.
        JSONDict: JSONB(none_as_null=True),
        dt.datetime: DateTime(timezone=True),
        dt.timedelta: Interval(),
    }

    def __repr__(self) -> str:
        keys = [
            self.__mapper__.get_property_by_column(c).key
            for c in self.__mapper__.primary_key
        ]
        values = ", ".join(f"{k}={getattr(self, k, None)!r}" for k in keys)
        label = getattr(self, "name", None)
        extra = f" name={label!r}" if isinstance(label, str) else ""
        return f"<{type(self).__name__} {values}{extra}>"


def created_at_column() -> Mapped[dt.datetime]:
    """A `created_at` column filled in by PostgreSQL."""
    return mapped_column(server_default=func.now())


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """Store enums by value (what users and the wire protocol see)."""
    return [str(member.value) for member in enum_class]


_Model = TypeVar("_Model", bound=Base)


def unsaved_row_object(cls: type[_Model], values: dict[str, Any]) -> _Model:
    """A new object whose attributes are `values`, set without attribute events.

    For rows inserted with Core and then attached as loaded (see
    debusine.workflows.orchestration_run): the object needs no change
    history nor backref updates, which cost more than the INSERT. Give
    every column, and relationships with `set_committed_value`.
    """
    obj = manager_of_class(cls).new_instance()
    instance_state(obj).dict.update(values)
    return obj
