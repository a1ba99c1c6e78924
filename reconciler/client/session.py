"""The request pipeline every SMH call goes through, and the transport guard under it.

Owns: building routes (each path segment percent-encoded, `/` literal) and query strings (bare
flags such as `?delete`), authentication (the token rides in an `Authorization: Bearer`
header, or in the `access_token` query parameter as `TokenTransport` says: `auto` falls back
from the header to the query after a 400 `EmptyAccessToken`, which a server answers before
doing anything, and keeps the query for the rest of the run; a token the server calls invalid
is renewed once and the request sent again), minting tokens with a short `period` and, for a
client that may write, revoking them when it closes, the retry policy, a cap on answer size and
a deadline on each answer (the read timeout bounds each wait for a byte, the deadline the whole
request: every socket wait of the connections under it, `reconciler.client.connections`, ends
at it, so headers or a body dribbled a byte at a time end), redacted debug logging (no URL
with its query is ever logged by this module, and httpx's own lines pass through the redacting
filter), and turning error answers into `SmhRequestError`.

`MethodGuard` is what makes a reader read-only by construction: it wraps the transport and
refuses any method outside its allowed set before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from reconciler import __version__, wirejson
from reconciler.auth import (
    ACCESS_TOKEN_ENV,
    LIBRARY_SECRET_ENV,
    Credentials,
    Grants,
    MintedToken,
    Secret,
    TokenTransport,
    protect_logger,
    redact,
    token_provider,
)
from reconciler.client.connections import Http11Transport, set_deadline
from reconciler.client.shapes import ShapeError, as_object, get_int, get_str, server_text
from reconciler.errors import CredentialsError, ReconcileError
from reconciler.retry import RetryPolicy, SmhRequestError, parse_retry_after

logger = protect_logger(__name__)
# httpx logs every request's full URL at INFO, and the token request carries the library secret.
protect_logger("httpx")

MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
"""The largest answer read; a page of 1000 listing entries is well under 1 MiB."""
REQUEST_DEADLINE: Final = 120.0
"""Seconds one request may take from sending to its answer's last byte."""

TOKEN_PERIOD: Final = 900
"""Seconds a minted token lives unused. SMH extends a token on every call and the provider
renews it ahead of expiry, so a long run keeps working, while a token a run leaves behind
(a read-only client never revokes: it sends nothing but GET) is dead a quarter-hour later."""

_T = TypeVar("_T")

REQUEST_HEADERS: Final = {
    "User-Agent": f"smh-reconcile/{__version__}",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
}
"""The headers of every request, besides its own (`Host` and `Content-Length` come from
httpx's request)."""

# The token endpoint's answers that mean the library id or secret is wrong, not the network.
SECRET_REFUSED: Final = frozenset({"WrongLibraryIdOrSecret", "EmptyLibraryIdOrSecret"})

Query = Sequence[tuple[str, str | None]]
"""Query parameters in order; a None value is a bare flag (`?delete`)."""


class ReadOnlyViolation(ReconcileError):
    """Code tried to send a method its client is not allowed to send."""


class MethodGuard(httpx.BaseTransport):
    """A transport that refuses, before sending, any method not in `allowed`."""

    def __init__(self, inner: httpx.BaseTransport, allowed: frozenset[str]) -> None:
        self._inner = inner
        self._allowed = allowed

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method.upper() not in self._allowed:
            raise ReadOnlyViolation(
                f"refused to send {request.method} {redact(request.url.path)}: this client "
                f"may only send {', '.join(sorted(self._allowed))}"
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _network_transport(endpoint: str) -> Http11Transport:
    """The transport to a real server: HTTP/1.1 over kept-alive connections, each socket wait
    bounded by the request's deadline (httpx has no total timeout of its own).

    An `https://` endpoint's TLS context is httpx's own (its certificate authorities, and
    `SSL_CERT_FILE` where set). An `http://` endpoint's trusts no certificate authority, where
    that default loads the whole CA bundle (40-60 ms of every run's start-up): every request
    goes to the endpoint and no redirect is followed, so it never speaks TLS, and were it ever
    to, no certificate could pass."""
    if urlsplit(endpoint).scheme.lower() == "http":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        context = httpx.create_ssl_context()
    context.set_alpn_protocols(["http/1.1"])
    return Http11Transport(context)


def encode_path(path: str) -> str:
    """A relative path as URL path segments: each percent-encoded, joined by a literal `/`."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def route(*parts: str, path: str = "") -> str:
    """`/api/v1/<parts...>[/<path>]`, each part encoded as one segment."""
    text = "/api/v1/" + "/".join(quote(part, safe="") for part in parts)
    return f"{text}/{encode_path(path)}" if path else text


def _query_string(query: Query) -> str:
    return "&".join(
        quote(key, safe="") if value is None else f"{quote(key, safe='')}={quote(value, safe=',')}"
        for key, value in query
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole (up to the cap)."""

    method: str
    route: str
    status: int
    headers: httpx.Headers
    body: bytes
    attempts: int = 1

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))

    def json(self) -> object:
        try:
            return wirejson.loads(self.body)
        except (ValueError, RecursionError):
            raise self.malformed(f"not JSON: {_preview(self.body)}") from None

    def parse(self, reader: Callable[[object], _T]) -> _T:
        """`reader(json)`, with a shape problem reported as this request's error."""
        try:
            return reader(self.json())
        except ShapeError as error:
            raise self.malformed(str(error)) from None

    def error_fields(self) -> tuple[str | None, str | None, str | None]:
        """`(code, message, request_id)` from the error body and headers, where present."""
        code = message = request_id = None
        try:
            data = wirejson.loads(self.body) if self.body else None
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            code = server_text(data.get("code"))
            message = server_text(data.get("message"))
            request_id = server_text(data.get("requestId"))
        elif self.body:
            message = _preview(self.body)
        header_id = self.headers.get("x-request-id") or self.headers.get("x-smh-request-id")
        return code, message, request_id or server_text(header_id)

    @property
    def code(self) -> str | None:
        return self.error_fields()[0]

    def error(self, attempts: int | None = None, *, reason: str | None = None) -> SmhRequestError:
        code, message, request_id = self.error_fields()
        return SmhRequestError(
            reason=reason,
            method=self.method,
            route=self.route,
            status=self.status,
            code=code,
            detail=message,
            request_id=request_id,
            attempts=self.attempts if attempts is None else attempts,
        )

    def malformed(self, reason: str) -> SmhRequestError:
        _, _, request_id = self.error_fields()
        return SmhRequestError(
            method=self.method,
            route=self.route,
            status=self.status,
            request_id=request_id,
            attempts=self.attempts,
            reason=f"unexpected answer: {reason}",
        )


def _preview(body: bytes) -> str:
    return server_text(body[:8192].decode("utf-8", "replace"), limit=120) or "(empty)"


class Session:
    """One library's connection: a guarded transport, the token provider and the retry
    policy. Thread-safe (the transports are; the token cache is locked)."""

    def __init__(
        self,
        *,
        endpoint: str,
        library: str,
        credentials: Credentials,
        transport: httpx.BaseTransport | None,
        allowed_methods: frozenset[str],
        retry: RetryPolicy,
        timeout: float,
        clock: Callable[[], float],
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        revoke_tokens: bool = False,
        token_period: int = TOKEN_PERIOD,
        deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.library = library
        self.retry = retry
        self._max_answer_bytes = max_answer_bytes
        self._token_transport = credentials.token_transport
        # Whether the token now rides in the query: from the start for `query`, and once a
        # server has shown it ignores the header for `auto`.
        self._token_in_query = credentials.token_transport is TokenTransport.QUERY
        self._revoke_tokens = revoke_tokens
        self._token_period = token_period
        self._deadline = deadline
        inner = transport if transport is not None else _network_transport(endpoint)
        # Requests go straight to the transport: what an httpx client would add on the way
        # (merging URLs and headers again, a cookie jar, redirects) is nothing these calls use,
        # and cost about as much CPU as the rest of a request's sending.
        self._transport = MethodGuard(inner, allowed_methods)
        self._endpoint = endpoint.rstrip("/")
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._library_secret = credentials.library_secret
        self.tokens = token_provider(credentials, self._mint, clock=clock)
        self.server_time: str | None = None
        """The server's time (its `Date` header, ISO-8601 UTC) on its first answer."""
        self.clock = clock

    def close(self) -> None:
        try:
            if self._revoke_tokens:
                self._revoke_minted()
        finally:
            self._transport.close()

    def _revoke_minted(self) -> None:
        """Revoke every token this session minted; a failure is a warning, never an error."""
        for token in self.tokens.take_minted():
            try:
                answer = self._send("DELETE", route("token", self.library, token.reveal()), (),
                                    token=None, body=None)
                if answer.status not in (200, 204):
                    raise answer.error()
            except ReconcileError as error:
                logger.warning(
                    "could not revoke an access token this run minted (it expires by itself "
                    "%d s after its last use): %s", self._token_period, error.message,
                )

    def __repr__(self) -> str:
        return f"Session(library={self.library!r}, endpoint={self._endpoint!r})"

    # -- requests ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        space: str | None,
        grants: Grants,
        user_id: str | None = None,
        body: object = None,
    ) -> Answer:
        """Sends one authenticated API request, retrying per the policy, and returns its answer.

        `body` is a JSON value, or its encoding (bytes). `space` and `grants` choose the token
        (space None: a library-level token). A 403 `InvalidAccessToken` renews the token once
        and sends again. Retries running out, and a failure to connect at all, raise
        `SmhRequestError`; other error answers are returned for the caller to judge (some, like
        a 404 on a single delete, are results).
        """
        full_query = [*query, *([("user_id", user_id)] if user_id else [])]
        token = self.tokens.token(space, grants)
        in_query = self._token_in_query
        answer = self._send(method, path, full_query, token=token, body=body, in_query=in_query)
        if (answer.status == 400 and answer.code == "EmptyAccessToken" and not in_query
                and self._token_transport is TokenTransport.AUTO):
            if not self._token_in_query:
                logger.info("the server ignores the Authorization header (400 "
                            "EmptyAccessToken): sending the token as the access_token query "
                            "parameter from now on")
                self._token_in_query = True
            answer = _again(answer, self._send(method, path, full_query, token=token,
                                               body=body, in_query=True))
        if answer.status == 403 and answer.code == "InvalidAccessToken":
            logger.debug("%s %s: token refused, renewing it once", method, path)
            token = self.tokens.renew(space, grants, token)
            answer = _again(answer, self._send(method, path, full_query, token=token,
                                               body=body, in_query=self._token_in_query))
            if answer.status == 403 and answer.code == "InvalidAccessToken":
                raise answer.error()
        return answer

    def _mint(self, space: str | None, grants: Grants) -> MintedToken:
        secret = self._library_secret
        if secret is None:
            raise ReconcileError("no library secret to mint tokens with")
        query: list[tuple[str, str | None]] = [
            ("library_id", self.library),
            ("library_secret", secret.reveal()),
        ]
        # A single-tenant library ("-") takes no space_id; a library-level token neither.
        if space is not None and space != "-":
            query.append(("space_id", space))
        # A read-only token is one minted without grants: the SDKs leave the key out.
        if grants:
            query.append(("grant", ",".join(grants)))
        query.append(("period", str(self._token_period)))
        answer = self._send("GET", route("token"), query, token=None, body=None)
        if answer.status != 200 and answer.code in SECRET_REFUSED:
            raise CredentialsError(
                f"the library secret in {LIBRARY_SECRET_ENV} was refused for library "
                f"{self.library} (HTTP {answer.status} {answer.code}): check that it is this "
                f"library's secret, or set {ACCESS_TOKEN_ENV} instead"
            )
        if answer.status != 200:
            raise answer.error(reason=f"no token for library {self.library!r}")

        def read(data: object) -> MintedToken:
            obj = as_object(data, "token answer")
            token = get_str(obj, "accessToken", "token answer")
            if not token:
                raise ShapeError("token answer.accessToken is empty")
            return MintedToken(Secret(token), float(get_int(obj, "expiresIn", "token answer")))

        minted = answer.parse(read)
        logger.debug("minted a token for space %s with grants [%s]", space, ",".join(grants))
        return minted

    def _send(
        self,
        method: str,
        path: str,
        query: Query,
        *,
        token: Secret | None,
        body: object,
        in_query: bool = False,
    ) -> Answer:
        headers: dict[str, str] = {}
        if token is not None and in_query:
            query = [*query, ("access_token", token.reveal())]
        elif token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        url = f"{path}?{_query_string(query)}" if query else path
        content = None
        if body is not None:
            # Bytes are no JSON value: they are a body encoded ahead, sent as they are.
            content = body if isinstance(body, bytes) else wirejson.dumps(body)
            headers["Content-Type"] = "application/json"

        def attempt() -> Answer:
            started = time.perf_counter()
            request = httpx.Request(method, self._endpoint + url,
                                    headers={**REQUEST_HEADERS, **headers}, content=content,
                                    extensions={"timeout": self._timeouts})
            try:
                answer = self._read(method, path, request)
            except httpx.TransportError as error:
                logger.debug(
                    "%s %s -> %s after %.1f ms",
                    method,
                    path,
                    type(error).__name__,
                    (time.perf_counter() - started) * 1000,
                )
                raise
            logger.debug(
                "%s %s -> %d in %.1f ms",
                method,
                path,
                answer.status,
                (time.perf_counter() - started) * 1000,
            )
            return answer

        answer, attempts = self.retry.run(
            attempt,
            method=method,
            route=path,
            describe=lambda last, count: last.error(count),
            where=self._endpoint,
        )
        return _with_attempts(answer, attempts)

    def _read(self, method: str, path: str, request: httpx.Request) -> Answer:
        # Wall time, not the injectable clock: the deadline guards against a real server.
        ends = time.monotonic() + self._deadline
        set_deadline(ends)
        try:
            return self._read_by(ends, method, path, request)
        except httpx.TimeoutException:
            if time.monotonic() < ends:
                raise  # an ordinary timeout, retried
            raise self._past_deadline(method, path, None) from None
        finally:
            set_deadline(None)

    def _read_by(self, ends: float, method: str, path: str, request: httpx.Request) -> Answer:
        response = self._transport.handle_request(request)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_answer_bytes:
                raise self._too_large(method, path, response.status_code)
            chunks: list[bytes] = []
            size = 0
            self._check_deadline(ends, method, path, response.status_code)
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._max_answer_bytes:
                    raise self._too_large(method, path, response.status_code)
                self._check_deadline(ends, method, path, response.status_code)
                chunks.append(chunk)
        except httpx.DecodingError as error:
            # A body that does not match its Content-Encoding: garbled, not worth a retry.
            raise SmhRequestError(
                method=method, route=path, status=response.status_code,
                reason=f"undecodable answer: {error}",
            ) from None
        finally:
            response.close()
        if self.server_time is None:
            self.server_time = _server_time(response.headers.get("date"))
        return Answer(method, path, response.status_code, response.headers, b"".join(chunks))

    def _check_deadline(self, ends: float, method: str, path: str, status: int) -> None:
        if time.monotonic() > ends:
            raise self._past_deadline(method, path, status)

    def _past_deadline(self, method: str, path: str, status: int | None) -> SmhRequestError:
        return SmhRequestError(
            method=method,
            route=path,
            status=status,
            reason=f"the answer did not arrive in full within {self._deadline:g} s",
        )

    def _too_large(self, method: str, path: str, status: int) -> SmhRequestError:
        return SmhRequestError(
            method=method,
            route=path,
            status=status,
            reason=f"answer larger than {self._max_answer_bytes} bytes",
        )


def _again(refused: Answer, retried: Answer) -> Answer:
    """The answer to a request sent again after `refused`, which the server answered before
    doing anything: that send does not count as an attempt that may have done the work
    (earlier sends that got no answer still do)."""
    return _with_attempts(retried, refused.attempts - 1 + retried.attempts)


def _with_attempts(answer: Answer, attempts: int) -> Answer:
    return Answer(answer.method, answer.route, answer.status, answer.headers, answer.body, attempts)


def _server_time(header: str | None) -> str | None:
    """An HTTP `Date` header as ISO-8601 UTC with milliseconds; None when absent or unreadable."""
    if not header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
