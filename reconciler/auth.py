"""Credentials, access tokens and redaction: everything that handles a secret value.

Owns `Secret` (the only way a token or library secret is held), `Credentials` (read from the
environment, with the `TokenTransport` that says where requests carry the token), the grants
each operation needs (`grants_for`), the token providers (a fixed
`SMH_ACCESS_TOKEN`, or tokens minted with `SMH_LIBRARY_SECRET` per space and grant set, renewed
before they expire and once when the server calls them invalid), and `redact` /
`RedactingFilter`, through which every message and log line of the client passes.

The token provider does no HTTP itself: the client hands it a `mint` callable, so this module
stays free of transport concerns and the one request pipeline (retries, logging, errors) serves
token requests too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol
from urllib.parse import quote, quote_plus

from reconciler.desired import Mode
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.plan import (
    ClearHistory,
    CreateDirectory,
    Delete,
    DeleteRecycled,
    EmptyRecycleBin,
    Plan,
)

ACCESS_TOKEN_ENV: Final = "SMH_ACCESS_TOKEN"
LIBRARY_SECRET_ENV: Final = "SMH_LIBRARY_SECRET"
TOKEN_TRANSPORT_ENV: Final = "SMH_TOKEN_TRANSPORT"
MASK: Final = "***"

# ---------------------------------------------------------------------------------------------
# Secrets and redaction
# ---------------------------------------------------------------------------------------------

_known_lock = threading.Lock()
# Every value ever wrapped in a `Secret`, with its URL-encoded spellings: `redact` must find a
# token wherever it ends up, including inside a query string a library formatted for us.
_known_values: set[str] = set()
_known_pattern: re.Pattern[str] | None = None
_ANYWHERE_LENGTH: Final = 12
"""Known values at least this long are masked even inside a longer word."""

# Query values that are secret whatever their value, even one this process never saw.
_QUERY_SECRET = re.compile(r"(?i)\b(access_token|library_secret)=[^&\s'\"<>#]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")


def _remember(value: str) -> None:
    global _known_pattern
    spellings = {value, quote(value, safe=""), quote_plus(value, safe="")}
    with _known_lock:
        if spellings <= _known_values:
            return
        _known_values.update(spellings)
        # Longest first, so a value that contains another is masked whole. A short value is
        # masked where it stands on its own, not inside a longer word: a short secret must not
        # turn every word that happens to contain it into noise. A long one (every real token
        # and library secret) is masked wherever it is, also glued to other text by a server.
        ordered = sorted(_known_values, key=len, reverse=True)
        long = [re.escape(item) for item in ordered if len(item) >= _ANYWHERE_LENGTH]
        short = [re.escape(item) for item in ordered if len(item) < _ANYWHERE_LENGTH]
        alternatives = [f"(?:{'|'.join(long)})"] if long else []
        if short:
            alternatives.append(r"(?<![A-Za-z0-9])(?:" + "|".join(short) + r")(?![A-Za-z0-9])")
        _known_pattern = re.compile("|".join(alternatives))


def redact(text: str) -> str:
    """`text` with every known secret value, and any `access_token=`/`library_secret=` query
    value or bearer credential, replaced by `***`."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _QUERY_SECRET.sub(lambda match: f"{match.group(1)}={MASK}", text)
    return _BEARER.sub(lambda match: f"{match.group(1)} {MASK}", text)


class Secret:
    """A secret string that shows as `***` everywhere except through `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("a secret must be a non-empty string")
        self._value = value
        _remember(value)

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value out in the clear (plan files, caches): refuse.
        raise TypeError("a Secret cannot be pickled")


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through `redact` (and drops its traceback text's secrets).

    Attached to the client's loggers and to httpx's, whose INFO line carries the full URL.
    Handlers may add it too, to cover records from anywhere.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatting would print the exception's own text; keep only a redacted copy.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER: Final = RedactingFilter()


def protect_logger(name: str) -> logging.Logger:
    """The named logger, with the redacting filter attached (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


# ---------------------------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------------------------


class TokenTransport(Enum):
    """Where a request carries the access token.

    `AUTO` sends the `Authorization: Bearer` header and, after a 400 `EmptyAccessToken` (a
    server that ignores the header, which it answers before doing anything), the
    `access_token` query parameter for the rest of the run. `HEADER` and `QUERY` use only one.
    """

    AUTO = "auto"
    HEADER = "header"
    QUERY = "query"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TokenTransport:
        raw = env.get(TOKEN_TRANSPORT_ENV, "").strip().lower()
        if not raw:
            return cls.AUTO
        try:
            return cls(raw)
        except ValueError:
            choices = ", ".join(transport.value for transport in cls)
            raise ReconcileError(
                f"{TOKEN_TRANSPORT_ENV}={raw!r} is not one of {choices}"
            ) from None


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to authenticate: a fixed access token, or a library secret to mint tokens with;
    and where requests carry the token.

    Exactly one of `access_token` and `library_secret` is set.
    """

    access_token: Secret | None = None
    library_secret: Secret | None = None
    token_transport: TokenTransport = TokenTransport.AUTO

    def __post_init__(self) -> None:
        if (self.access_token is None) == (self.library_secret is None):
            raise ValueError("exactly one of access_token and library_secret must be set")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        """Credentials from `SMH_ACCESS_TOKEN` or `SMH_LIBRARY_SECRET` (empty counts as unset),
        carried as `SMH_TOKEN_TRANSPORT` says (default `auto`).

        When both are set the access token wins: it is the more specific instruction, and a
        user who exports one expects it to be the one used.
        """
        transport = TokenTransport.from_env(env)
        token = env.get(ACCESS_TOKEN_ENV, "").strip()
        if token:
            return cls(access_token=Secret(token), token_transport=transport)
        secret = env.get(LIBRARY_SECRET_ENV, "").strip()
        if secret:
            return cls(library_secret=Secret(secret), token_transport=transport)
        raise ReconcileError(
            f"no SMH credentials: set {ACCESS_TOKEN_ENV} (an access token, used as is) or "
            f"{LIBRARY_SECRET_ENV} (the library secret, to mint short-lived tokens)"
        )


# ---------------------------------------------------------------------------------------------
# Grants
# ---------------------------------------------------------------------------------------------


class Operation(Enum):
    """What a request is for; each needs its own minimal set of grants."""

    READ = "read"
    DELETE_RECYCLE = "delete_recycle"
    DELETE_PERMANENT = "delete_permanent"
    EMPTY_RECYCLE_BIN = "empty_recycle_bin"
    RESTORE = "restore"
    CREATE_DIRECTORY = "create_directory"
    DELETE_RECYCLED = "delete_recycled"
    LIST_SPACES = "list_spaces"
    ADMIN = "admin"


_GRANTS: Final[Mapping[Operation, tuple[str, ...]]] = {
    # An empty grant list is a read-only token.
    Operation.READ: (),
    Operation.DELETE_RECYCLE: ("delete_file", "delete_directory"),
    Operation.DELETE_PERMANENT: (
        "delete_file",
        "delete_directory",
        "delete_file_permanent",
        "delete_directory_permanent",
    ),
    Operation.EMPTY_RECYCLE_BIN: ("delete_recycled",),
    Operation.RESTORE: ("restore_recycled",),
    Operation.CREATE_DIRECTORY: ("create_directory",),
    # Deleting chosen bin items for good needs the same grant as emptying the bin.
    Operation.DELETE_RECYCLED: ("delete_recycled",),
    # Seeing every space needs admin or space_admin, and a token without a space id (the
    # space list belongs to no space) is minted only with admin.
    Operation.LIST_SPACES: ("admin",),
    # History config and history clear are admin-only.
    Operation.ADMIN: ("admin",),
}

Grants = tuple[str, ...]
"""A sorted, duplicate-free tuple of grant names: the cache key and the `grant` parameter."""


def grants_for(*operations: Operation) -> Grants:
    """The union of the grants the operations need, sorted."""
    names: set[str] = set()
    for operation in operations:
        names.update(_GRANTS[operation])
    return tuple(sorted(names))


def apply_grants(plan: Plan) -> list[tuple[str | None, Grants]]:
    """The grants apply will ask for to carry `plan` out, by space (None: the library-level
    token of the history clear), so a plan made with a read-only token can say so."""
    needed: dict[str, set[Operation]] = {}
    library: list[tuple[str | None, Grants]] = []
    # The deletes (all but a few changes of a large plan) by space and mode, in one pass.
    for space, permanent in {(d.space, d.mode is Mode.PERMANENT) for d in plan.deletes}:
        needed.setdefault(space, set()).add(
            Operation.DELETE_PERMANENT if permanent else Operation.DELETE_RECYCLE)
    for change in plan.changes:
        if isinstance(change, Delete):
            continue
        if isinstance(change, ClearHistory):
            library.append((None, grants_for(Operation.ADMIN)))
            continue
        operations = needed.setdefault(change.space, set())
        if isinstance(change, CreateDirectory):
            operations.add(Operation.CREATE_DIRECTORY)
        elif isinstance(change, DeleteRecycled):
            operations.add(Operation.DELETE_RECYCLED)
        elif isinstance(change, EmptyRecycleBin):
            operations.add(Operation.EMPTY_RECYCLE_BIN)
    spaces: list[tuple[str | None, Grants]] = [
        (space, grants_for(*operations)) for space, operations in sorted(needed.items())]
    return spaces + library


def delete_grants(*, permanent: Iterable[bool]) -> Grants:
    """The grants for deleting items whose permanence flags are given."""
    flags = set(permanent)
    operations = [Operation.DELETE_RECYCLE]
    if True in flags:
        operations.append(Operation.DELETE_PERMANENT)
    return grants_for(*operations)


# ---------------------------------------------------------------------------------------------
# Token providers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: Secret
    expires_in: float


Mint = Callable[[str | None, Grants], MintedToken]
"""Asks the server for a token for (space or None for the library, grants)."""


class TokenProvider(Protocol):
    """Hands out the token for (space, grants); `renew` replaces one the server refused."""

    def token(self, space: str | None, grants: Grants) -> Secret: ...

    def renew(self, space: str | None, grants: Grants, rejected: Secret) -> Secret:
        """A fresh token after `rejected` was answered 403 InvalidAccessToken."""
        ...

    def take_minted(self) -> tuple[Secret, ...]:
        """Every token this provider minted and has not handed back yet (to revoke them)."""
        ...


class FixedToken:
    """`SMH_ACCESS_TOKEN`: one token for everything; it cannot be renewed."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def token(self, space: str | None, grants: Grants) -> Secret:
        return self._token

    def renew(self, space: str | None, grants: Grants, rejected: Secret) -> Secret:
        raise CredentialsError(
            f"the access token in {ACCESS_TOKEN_ENV} was refused (403 InvalidAccessToken): it "
            f"is expired, revoked or for another library; export a fresh one, or set "
            f"{LIBRARY_SECRET_ENV} instead so tokens are minted and renewed as needed"
        )

    def take_minted(self) -> tuple[Secret, ...]:
        return ()

    def __repr__(self) -> str:
        return f"FixedToken({MASK})"


@dataclass(slots=True)
class _Cached:
    token: Secret
    renew_at: float


class MintedTokens:
    """Tokens minted with the library secret, one per (space, grants), renewed ahead of expiry.

    A token is renewed once `renew_margin` seconds (at most half its lifetime) remain, by the
    injected clock. SMH extends a token's life on every use, so this errs on the early side.
    Thread-safe: concurrent listers share one token per key and one mint call.
    """

    def __init__(
        self,
        mint: Mint,
        *,
        clock: Callable[[], float] = time.monotonic,
        renew_margin: float = 60.0,
    ) -> None:
        self._mint = mint
        self._clock = clock
        self._renew_margin = renew_margin
        self._lock = threading.Lock()
        self._cache: dict[tuple[str | None, Grants], _Cached] = {}
        self._minted: list[Secret] = []

    def token(self, space: str | None, grants: Grants) -> Secret:
        key = (space, grants)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and self._clock() < cached.renew_at:
                return cached.token
            return self._mint_locked(key)

    def renew(self, space: str | None, grants: Grants, rejected: Secret) -> Secret:
        key = (space, grants)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.token != rejected:
                # Another thread renewed it while this request was in flight.
                return cached.token
            return self._mint_locked(key)

    def _mint_locked(self, key: tuple[str | None, Grants]) -> Secret:
        minted = self._mint(*key)
        self._minted.append(minted.token)
        lifetime = max(0.0, minted.expires_in)
        margin = min(self._renew_margin, lifetime / 2)
        self._cache[key] = _Cached(minted.token, self._clock() + lifetime - margin)
        return minted.token

    def take_minted(self) -> tuple[Secret, ...]:
        with self._lock:
            minted, self._minted = tuple(self._minted), []
            self._cache.clear()
        return minted

    def __repr__(self) -> str:
        return f"MintedTokens({len(self._cache)} cached)"


def token_provider(
    credentials: Credentials, mint: Mint, *, clock: Callable[[], float] = time.monotonic
) -> TokenProvider:
    """The provider the credentials call for."""
    if credentials.access_token is not None:
        return FixedToken(credentials.access_token)
    return MintedTokens(mint, clock=clock)
