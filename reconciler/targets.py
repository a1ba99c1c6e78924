"""The edge where the pure core meets a library: manifests loaded into the spec of one
library (narrowed to the spaces asked for), a `Target` made of it and the environment (where,
with which credentials), its clients, and the plan of a listing made just now.

Commands call these; nothing in here decides what to delete.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import httpx

from reconciler.auth import Credentials
from reconciler.client import SmhReadClient, SmhWriteClient
from reconciler.client.reader import MAX_PAGE_SIZE
from reconciler.desired import DesiredState, LibrarySpec
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import UsageError
from reconciler.listing import LibraryListing
from reconciler.manifest import load_desired_state
from reconciler.options import DEFAULT_CONCURRENCY
from reconciler.plan import Plan
from reconciler.planner import deleted_directories, make_plan, plan_listed
from reconciler.retry import DEFAULT_RETRY, RetryPolicy
from reconciler.walker import walk_library

_Client = TypeVar("_Client", bound=SmhReadClient)


def one_library(state: DesiredState) -> LibrarySpec:
    if len(state.libraries) != 1:
        names = ", ".join(spec.library for spec in state.libraries)
        raise UsageError(
            f"the manifests describe {len(state.libraries)} libraries ({names}); "
            "plan and apply one library at a time"
        )
    return state.libraries[0]


def select_spaces(spec: LibrarySpec, space_ids: Sequence[str]) -> LibrarySpec:
    """`spec` narrowed to the spaces named with `--space` (all when none are named)."""
    if not space_ids:
        return spec
    known = {space.id for space in spec.spaces}
    unknown = sorted(set(space_ids) - known)
    if unknown:
        raise UsageError(
            f"--space {', '.join(unknown)}: not in the manifests "
            f"(known: {', '.join(sorted(known))})"
        )
    return replace(spec, spaces=tuple(s for s in spec.spaces if s.id in set(space_ids)))


@dataclass(frozen=True)
class Target:
    """One library to work on: its spec, where it is, how to authenticate."""

    spec: LibrarySpec
    endpoint: str
    credentials: Credentials
    transport: httpx.BaseTransport | None = None
    page_size: int = MAX_PAGE_SIZE
    retry: RetryPolicy = DEFAULT_RETRY

    def reader(self) -> SmhReadClient:
        """A client that can only read: everything `plan` and `snapshot` use."""
        return self._client(SmhReadClient)

    def writer(self) -> SmhWriteClient:
        return self._client(SmhWriteClient)

    def _client(self, kind: type[_Client]) -> _Client:
        return kind(
            endpoint=self.endpoint,
            library=self.spec.library,
            credentials=self.credentials,
            transport=self.transport,
            page_size=self.page_size,
            retry=self.retry,
        )


def load_spec(
    paths: Sequence[str | Path], *, spaces: Sequence[str] = (), cwd: Path = Path()
) -> tuple[DesiredState, LibrarySpec]:
    """Load and validate manifests (`paths` relative to `cwd`): the desired state, and the
    spec of its one library narrowed to `spaces`."""
    state = load_desired_state(paths, base=cwd)
    return state, select_spaces(one_library(state), spaces)


def make_target(
    spec: LibrarySpec,
    env: Mapping[str, str],
    *,
    endpoint: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Target:
    """Where the library of `spec` is and how to authenticate to it, from `env`."""
    return Target(
        spec=spec,
        endpoint=resolve_endpoint(spec, env, endpoint),
        credentials=Credentials.from_env(env),
        transport=transport,
    )


def recorded_target(library: str, endpoint: str, override: str | None,
                    env: Mapping[str, str]) -> Target:
    """Where to apply a saved plan, or undo a report: `--endpoint`, else `SMH_ENDPOINT`, else
    the endpoint the document recorded (else the library's default)."""
    spec = LibrarySpec(library=library, spaces=(), endpoint=endpoint or None)
    return make_target(spec, env, endpoint=override)


def live_listing(target: Target, *, concurrency: int = DEFAULT_CONCURRENCY) -> LibraryListing:
    with target.reader() as reader:
        return walk_library(target.spec, reader, to_count=deleted_directories,
                            plan_ahead=plan_listed, concurrency=concurrency)


def plan_live(spec: LibrarySpec, listing: LibraryListing) -> Plan:
    """The plan of a listing made just now. Its ages are measured against the listing's
    time; the plan does not carry that time, which marks plans made from a saved listing."""
    return make_plan(spec, replace(listing, listed_at=None), now=listing.listed_at)


def live_plan(target: Target, *, concurrency: int = DEFAULT_CONCURRENCY) -> Plan:
    """List the library now and plan against it."""
    return plan_live(target.spec, live_listing(target, concurrency=concurrency))
