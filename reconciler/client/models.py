"""The values the SMH client returns and takes beyond the listing's entries: delete items,
per-item results, batch replies, task states and recycle-bin items. Frozen, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.listing import Entries, EntryType, RecycledItem

__all__ = [
    "BatchReply", "DeleteItem", "DirectoryPage", "EntryType", "ItemResult", "RecycledItem",
    "SpaceFileCount", "TaskState",
]

OK_STATUSES = frozenset({200, 204})


@dataclass(frozen=True, slots=True)
class DeleteItem:
    """One path to delete, relative to the space root, spelled as the server spells it."""

    path: str
    permanent: bool


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What the server said about one item of a batch (or a single delete or restore).

    `status` 200 means moved to the recycle bin (with `recycled_item_id`), 204 deleted
    permanently; anything else failed, with `code` and `message`. For a restore, `path` is
    where the item was restored to, or "" when the server did not say.
    """

    path: str
    status: int
    recycled_item_id: int | None = None
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass(frozen=True, slots=True)
class BatchReply:
    """A batch call's answer: per-item `results` in request order (200, 207) or a `task_id`
    to poll (202). A finished task that gave no per-item results (it ended 204 or 500, or
    without a result) has `task_id` and its final `status`, and `results` None.

    `attempts` > 1 means the call was sent more than once (a retried 429, 5xx or dropped
    connection): an earlier attempt may have taken effect, so a 404 may mean "done by the
    earlier attempt" and the recycled ids of such items are unknown.
    """

    status: int
    results: tuple[ItemResult, ...] | None = None
    task_id: int | None = None
    attempts: int = 1

    @property
    def retried(self) -> bool:
        return self.attempts > 1

    @property
    def is_async(self) -> bool:
        return self.task_id is not None


@dataclass(frozen=True, slots=True)
class TaskState:
    """One task: `status` 202 still running, 200/207 finished with `result`, 204 finished
    without one, 500 (or any other) failed. `result` is as the server sent it (JSON): for a
    batch task, the per-item results list."""

    task_id: int
    status: int
    result: object = None

    @property
    def running(self) -> bool:
        return self.status == 202

    @property
    def succeeded(self) -> bool:
        return self.status in (200, 204, 207)


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of a directory listing; `next_marker` is None on the last page."""

    entries: Entries
    next_marker: str | None


@dataclass(frozen=True, slots=True)
class SpaceFileCount:
    """The space file-count API's answer. `fileNum` counts the files in the recycle bin and
    the earlier versions too, so the live files are what is left without them."""

    file_num: int
    dir_num: int
    recycled_file_num: int
    recycled_dir_num: int
    history_file_num: int

    @property
    def live_files(self) -> int:
        return max(0, self.file_num - self.recycled_file_num - self.history_file_num)
