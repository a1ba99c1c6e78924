"""The edge where the pure core meets the world: endpoints, credentials, clients, the clock.

Commands call these to turn manifest paths and the environment into a library spec, a
client for the library, a listing and a plan. Nothing in here decides what to delete.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

import httpx
import jsonschema

from reconciler.auth import Credentials
from reconciler.client import SmhReadClient, SmhWriteClient
from reconciler.client.reader import MAX_PAGE_SIZE
from reconciler.desired import DesiredState, LibrarySpec
from reconciler.errors import ReconcileError, UsageError
from reconciler.listing import LibraryListing
from reconciler.manifest import load_desired_state
from reconciler.plan import FORMAT_VERSION, PLAN_FILE_KIND, Plan, PlanFile
from reconciler.planner import deleted_directories, make_plan
from reconciler.retry import DEFAULT_RETRY, RetryPolicy
from reconciler.walker import DEFAULT_CONCURRENCY, walk_library

ENDPOINT_ENV = "SMH_ENDPOINT"

_Client = TypeVar("_Client", bound=SmhReadClient)


def utc_now() -> str:
    """The current time as SMH writes it: ISO-8601 UTC with milliseconds."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def check_endpoint(url: str) -> str:
    """`url` without a trailing slash, if it is HTTPS, or plain HTTP to this machine only.

    SMH serves HTTPS only; plain HTTP is allowed for a local emulator, never elsewhere, so
    that an access token is never sent in the clear over a network.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as error:
        raise UsageError(f"endpoint {url!r} is not a valid URL ({error})") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"endpoint {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(
            f"endpoint {url!r} uses plain HTTP; SMH needs HTTPS (plain HTTP is only allowed "
            "to a local emulator on a loopback address)"
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_endpoint(spec: LibrarySpec, env: Mapping[str, str], override: str | None) -> str:
    """`--endpoint`, else `SMH_ENDPOINT`, else the manifest's, else the library's default."""
    if override:
        where, url = "--endpoint", override
    elif env.get(ENDPOINT_ENV):
        where, url = ENDPOINT_ENV, env[ENDPOINT_ENV]
    else:
        where, url = "the manifest's endpoint", spec.default_endpoint
    try:
        return check_endpoint(url)
    except UsageError as error:
        raise UsageError(f"{where}: {error.message}") from None


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


def load_target(
    paths: Sequence[str | Path],
    *,
    env: Mapping[str, str],
    spaces: Sequence[str] = (),
    endpoint: str | None = None,
    transport: httpx.BaseTransport | None = None,
    need_credentials: bool = True,
) -> tuple[DesiredState, Target | None, LibrarySpec]:
    """Load and validate manifests, and say where their library is."""
    state = load_desired_state(paths)
    spec = select_spaces(one_library(state), spaces)
    if not need_credentials:
        return state, None, spec
    target = Target(
        spec=spec,
        endpoint=resolve_endpoint(spec, env, endpoint),
        credentials=Credentials.from_env(env),
        transport=transport,
    )
    return state, target, spec


def live_listing(target: Target, *, concurrency: int = DEFAULT_CONCURRENCY) -> LibraryListing:
    with target.reader() as reader:
        return walk_library(target.spec, reader, to_count=deleted_directories,
                            concurrency=concurrency)


def plan_live(spec: LibrarySpec, listing: LibraryListing) -> Plan:
    """The plan of a listing made just now. Its ages are measured against the listing's
    time; the plan does not carry that time, which marks plans made from a saved listing."""
    return make_plan(spec, replace(listing, listed_at=None), now=listing.listed_at)


def live_plan(target: Target, *, concurrency: int = DEFAULT_CONCURRENCY) -> Plan:
    """List the library now and plan against it."""
    return plan_live(target.spec, live_listing(target, concurrency=concurrency))


def color_wanted(stream: TextIO) -> bool:
    """Colour only on a terminal, and never under NO_COLOR (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def write_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half a file."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ReconcileError(f"cannot write {target}: {error.strerror or error}") from None


def read_json(path: str | Path, what: str) -> Any:
    """The JSON document in `path`, or one clear error saying why it can't be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise ReconcileError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReconcileError(f"{path}: cannot read the {what}: {error}") from None
    except json.JSONDecodeError as error:
        raise ReconcileError(
            f"{path}:{error.lineno}:{error.colno}: the {what} is not valid JSON ({error.msg})"
        ) from None


def read_plan_file(path: str | Path) -> PlanFile:
    """A saved plan, checked against the plan schema first: a file of another shape (edited,
    damaged or not a plan) is one clear error, never a traceback."""
    document = read_json(path, "plan file")
    if isinstance(document, dict) and document.get("kind") == PLAN_FILE_KIND and (
            document.get("format_version") == FORMAT_VERSION):
        # The schema checks the file's frame; the changes, which can number millions, are
        # read strictly by `PlanFile.from_json` instead (jsonschema's `oneOf` per change
        # would cost a millisecond each), and every one is re-derived at apply anyway.
        changes = document.get("changes")
        frame = {**document, "changes": []} if isinstance(changes, list) else document
        error = jsonschema.exceptions.best_match(_plan_validator().iter_errors(frame))
        if error is not None:
            where = "/".join(str(step) for step in error.absolute_path) or "the top level"
            raise ReconcileError(f"{path}: not a valid plan file: at {where}: {error.message}")
    return PlanFile.from_json(document)


@functools.cache
def _plan_validator() -> jsonschema.protocols.Validator:
    text = resources.files("reconciler").joinpath("schemas", "plan.schema.json").read_text(
        encoding="utf-8")
    schema = json.loads(text)
    validator: jsonschema.protocols.Validator = jsonschema.Draft202012Validator(schema)
    return validator


def is_plan_file(path: str | Path) -> bool:
    """Whether `path` is a saved plan (rather than a manifest or a folder of them)."""
    candidate = Path(path)
    if not candidate.is_file() or candidate.suffix.lower() in (".yaml", ".yml"):
        return False
    try:
        with open(candidate, encoding="utf-8") as handle:
            head = handle.read(4096)
            if not head.lstrip().startswith("{"):
                return False
            # Keys are sorted, so `kind` comes after `changes`: look through the whole file.
            return PLAN_FILE_KIND in head + handle.read()
    except (OSError, UnicodeDecodeError):
        return False
