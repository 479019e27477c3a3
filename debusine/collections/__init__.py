"""Per-category collection rules, lookups and retention.

`get_manager(session, collection)` gives a collection's manager;
`lookup_single` / `lookup_multiple` resolve lookups; `apply_retention`
expires removed items.
"""

from debusine.collections.base import (
    CollectionManager,
    InvalidLookupSegment,
    ItemAdditionError,
    ItemRemovalError,
    get_manager,
    registered_categories,
)
from debusine.collections.lookups import (
    ExpectType,
    InvalidLookup,
    LookupFailed,
    LookupResult,
    NotFound,
    WrongType,
    find_collection,
    lookup_multiple,
    lookup_single,
)
from debusine.collections.retention import RetentionReport, apply_retention

__all__ = [
    "CollectionManager",
    "ExpectType",
    "InvalidLookup",
    "InvalidLookupSegment",
    "ItemAdditionError",
    "ItemRemovalError",
    "LookupFailed",
    "LookupResult",
    "NotFound",
    "RetentionReport",
    "WrongType",
    "apply_retention",
    "find_collection",
    "get_manager",
    "lookup_multiple",
    "lookup_single",
    "registered_categories",
]
