"""The SMH client: the only code that speaks HTTP to SMH.

- `reader`: `SmhReadClient`, read-only by construction (its transport refuses anything but GET);
- `writer`: `SmhWriteClient`, the reader plus deletes, recycle-bin and history maintenance;
- `session`: the one request pipeline (auth, retries, redacted logging, error answers);
- `models`: the values taken and returned; `shapes`: defensive reading of JSON answers.

Credentials and redaction live in `reconciler.auth`, the retry policy in `reconciler.retry`.
"""

from reconciler.client.models import (
    BatchReply,
    DeleteItem,
    DirectoryPage,
    ItemResult,
    RecycledItem,
    TaskState,
)
from reconciler.client.reader import SmhReadClient
from reconciler.client.session import MethodGuard, ReadOnlyViolation
from reconciler.client.writer import MAX_BATCH_ITEMS, BatchRequest, SmhWriteClient
from reconciler.retry import RetryPolicy, SmhRequestError

__all__ = [
    "MAX_BATCH_ITEMS",
    "BatchReply",
    "BatchRequest",
    "DeleteItem",
    "DirectoryPage",
    "ItemResult",
    "MethodGuard",
    "ReadOnlyViolation",
    "RecycledItem",
    "RetryPolicy",
    "SmhReadClient",
    "SmhRequestError",
    "SmhWriteClient",
    "TaskState",
]
