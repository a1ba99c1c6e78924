"""The one retry policy every SMH request goes through, and the error a request ends in.

httpx retries nothing but connection set-up, so retrying is ours, in one place: connection
errors of any kind (refused, reset, dropped without an answer, timeouts), 429 and every 5xx are
retried with exponential backoff and full jitter, waiting at least what `Retry-After` asks
(capped). A failure (a connection error, a 5xx) uses up one of the request's attempts; a 429
does not: the server did nothing and asks the client to slow down, which under a rate limit it
keeps asking of whichever requests come too soon, so a request is retried after 429s until it
has waited `throttled_for` seconds on them in all. When the attempts or that time run out the
request fails with `SmhRequestError`, which names the method, the route (never the query, so
never a token), the last status and code, and the number of times it was sent.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeVar

import httpx

from reconciler.auth import redact
from reconciler.errors import SmhError

RETRYABLE_STATUSES: Final = frozenset({429})
THROTTLED: Final = 429
"""The status of a request refused for coming too soon (`RateLimitExceeded`): retried on a time
of its own, not counted as a failed attempt."""


class SmhRequestError(SmhError):
    """One SMH request failed: an error answer that is not retried, or retries ran out.

    `status`, `code`, `detail` (the server's message) and `request_id` come from the answer's
    `{code, message, requestId}` body or `X-Request-Id` header; `status` is None when no answer
    came at all. The message is redacted.
    """

    def __init__(
        self,
        *,
        method: str,
        route: str,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        reason: str | None = None,
    ) -> None:
        self.method = method
        self.route = redact(route)
        self.status = status
        self.code = code
        self.detail = redact(detail) if detail is not None else None
        self.request_id = request_id
        self.attempts = attempts
        parts = [f"{method} {self.route} failed"]
        if reason:
            parts.append(f": {redact(reason)}")
        if status is not None:
            said = "".join([f" {code}" if code else "", f" ({self.detail})" if self.detail else ""])
            parts.append(f": HTTP {status}{said}" if said or not reason else f" (HTTP {status})")
        if request_id:
            parts.append(f" [request id {request_id}]")
        if attempts > 1:
            parts.append(f" after {attempts} attempts")
        super().__init__(redact("".join(parts)))


class Unreachable(SmhRequestError):
    """No answer at all: the connection failed on every attempt (refused, reset, timed out)."""

    def __init__(self, *, method: str, route: str, attempts: int, reason: str,
                 where: str | None, seconds: float) -> None:
        super().__init__(method=method, route=route, attempts=attempts, reason=reason)
        target = f" to {where}" if where else ""
        self.args = (redact(
            f"no connection{target} ({reason}): {method} {self.route} gave up after "
            f"{attempts} attempt(s) over {seconds:.1f} s"
        ),)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds; the HTTP-date form is ignored (it would need a wall clock)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds


class Answered(Protocol):
    """What the policy needs to know of an answer to decide on a retry."""

    @property
    def status(self) -> int: ...

    @property
    def retry_after(self) -> float | None: ...


_A = TypeVar("_A", bound=Answered)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    `attempts` counts the first try, and every send that failed (a connection error, a 5xx).
    The n-th retry after a failure waits a uniformly random time in
    [0, min(max_delay, base_delay * 2**(n-1))] ("full jitter", so many clients do not retry in
    step), and never less than the server's `Retry-After`, itself capped at
    `max_retry_after`; `jitter=False` waits the full exponential delay instead. The n-th retry
    after a 429 waits the same, n counting the 429s, until the waits after 429s would pass
    `throttled_for` seconds in all (0: a 429 is not retried).
    """

    attempts: int = 5
    throttled_for: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if (self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0
                or self.throttled_for < 0):
            raise ValueError("delays must not be negative")

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        delay = ceiling * self.random() if self.jitter else ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def run(
        self,
        send: Callable[[], _A],
        *,
        method: str,
        route: str,
        describe: Callable[[_A, int], SmhRequestError],
        where: str | None = None,
    ) -> tuple[_A, int]:
        """Calls `send` until its answer need not be retried, or the attempts (or the time to
        wait on 429s) run out.

        `send` raises only for connection errors (`httpx.TransportError`, retried); anything
        else propagates at once. Returns the final answer and the number of times it was sent.
        When the retries run out on a retryable answer, `describe(answer, sends)` is raised;
        when no connection could be made at all, `Unreachable`, naming `where` (the endpoint)
        and how long the attempts took.
        """
        started = time.monotonic()
        failed = throttled = sends = 0
        waited = 0.0  # on 429s
        while True:
            sends += 1
            try:
                answer = send()
            except httpx.TransportError as error:
                failed += 1
                if failed >= self.attempts:
                    # `from None`: the chained httpx error would print the request URL.
                    raise Unreachable(
                        method=method,
                        route=route,
                        attempts=sends,
                        reason=_describe_transport_error(error),
                        where=where,
                        seconds=time.monotonic() - started,
                    ) from None
                self.sleep(self.backoff(failed))
                continue
            if not is_retryable_status(answer.status):
                return answer, sends
            if answer.status == THROTTLED:
                throttled += 1
                delay = self.backoff(throttled, answer.retry_after)
                if waited + delay > self.throttled_for:
                    raise describe(answer, sends)
                waited += delay
            else:
                failed += 1
                if failed >= self.attempts:
                    raise describe(answer, sends)
                delay = self.backoff(failed, answer.retry_after)
            self.sleep(delay)


def _describe_transport_error(error: httpx.TransportError) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text else name


DEFAULT_RETRY: Final = RetryPolicy()
