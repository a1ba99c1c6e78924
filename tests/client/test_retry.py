"""The one retry policy: backoff arithmetic, then retries against the emulator's faults — 429
with Retry-After, retried on a time of its own, 503, dropped connections over real loopback,
refused connections, timeouts — and giving up with an error that names the request and never
the token."""

from __future__ import annotations

import socket

import pytest

from reconciler.auth import Credentials, Secret
from reconciler.client import (
    DeleteItem,
    RetryPolicy,
    SmhReadClient,
    SmhRequestError,
    SmhWriteClient,
)
from reconciler.emulator import Emulator

from .support import ADMIN_TOKEN, Connect, Sleeps


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 1.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    half = RetryPolicy(base_delay=0.5, max_delay=4.0, random=lambda: 0.5)
    assert [half.backoff(n) for n in range(1, 4)] == [0.25, 0.5, 1.0]
    steady = RetryPolicy(base_delay=0.5, jitter=False, random=lambda: 0.0)
    assert steady.backoff(3) == 2.0


def test_retry_after_is_a_floor_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_retry_after=20.0, random=lambda: 0.5)
    assert policy.backoff(1, retry_after=7.0) == 7.0
    assert policy.backoff(1, retry_after=3600.0) == 20.0
    assert policy.backoff(5, retry_after=0.1) == 4.0


def test_a_policy_needs_at_least_one_attempt_and_no_negative_time() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(throttled_for=-1.0)


def _heal_after(emu: Emulator, sleeps: Sleeps, failures: int) -> None:
    """Clears the emulator's faults once the client has slept `failures` times."""

    def hook(_: float) -> None:
        if len(sleeps.delays) >= failures:
            emu.set_faults({})

    sleeps.hook = hook


def test_429_with_retry_after_is_retried_after_waiting_as_asked(
    reader: SmhReadClient, emu: Emulator, sleeps: Sleeps
) -> None:
    reader.list_directory("-", "")  # mint the token first
    emu.set_faults({"error_rate": 1.0, "error_statuses": [429], "retry_after_s": 7})
    _heal_after(emu, sleeps, 2)
    assert len(reader.list_directory("-", "a")) == 3
    assert sleeps.delays == [7.0, 7.0]
    statuses = [e["status"] for e in emu.request_log() if e["route"] == "directory"]
    assert statuses == [200, 429, 429, 200]


def test_429s_do_not_use_up_the_attempts(connect: Connect, emu: Emulator,
                                          sleeps: Sleeps) -> None:
    """Under a rate limit a request is refused as long as others come first: refused more
    times than it has attempts, it still goes through once the server takes it."""
    reader: SmhReadClient = connect(attempts=3)
    reader.list_directory("-", "")
    emu.set_faults({"error_rate": 1.0, "error_statuses": [429], "retry_after_s": 1})
    _heal_after(emu, sleeps, 6)
    assert len(reader.list_directory("-", "a")) == 3
    # At least the 1 s Retry-After asks, else backoff by the count of 429s: base 0.5
    # doubling, capped at max_delay 8, times the test's jitter draw of 0.5.
    assert sleeps.delays == [1.0, 1.0, 1.0, 2.0, 4.0, 4.0]
    statuses = [e["status"] for e in emu.request_log() if e["route"] == "directory"]
    assert statuses == [200] + [429] * 6 + [200]


def test_429s_and_failures_are_counted_apart(connect: Connect, emu: Emulator,
                                             sleeps: Sleeps) -> None:
    """Failures (5xx) use up the attempts whatever 429s came between them."""
    reader: SmhReadClient = connect(attempts=2)
    reader.list_directory("-", "")
    answers = iter([429, 429, 503, 429, 503])

    def next_fault(_: float) -> None:
        status = next(answers, None)
        emu.set_faults({"error_rate": 1.0, "error_statuses": [status]} if status else {})

    next_fault(0.0)
    sleeps.hook = next_fault
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "a")
    assert (caught.value.status, caught.value.attempts) == (503, 5)
    statuses = [e["status"] for e in emu.request_log() if e["route"] == "directory"]
    assert statuses == [200, 429, 429, 503, 429, 503]


def test_a_request_throttled_past_its_time_fails_naming_the_429(connect: Connect, emu: Emulator,
                                                                sleeps: Sleeps) -> None:
    reader: SmhReadClient = connect(attempts=3, throttled_for=20.0)
    reader.list_directory("-", "")
    emu.set_faults({"error_rate": 1.0, "error_statuses": [429], "retry_after_s": 7})
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "a")
    error = caught.value
    assert (error.status, error.code, error.attempts) == (429, "RateLimitExceeded", 3)
    assert sleeps.delays == [7.0, 7.0]  # a third wait would pass the 20 s
    assert str(error).endswith("after 3 attempts")


def test_no_time_for_429s_is_no_retry_of_them(connect: Connect, emu: Emulator,
                                              sleeps: Sleeps) -> None:
    reader: SmhReadClient = connect(throttled_for=0.0)
    reader.list_directory("-", "")
    emu.set_faults({"error_rate": 1.0, "error_statuses": [429]})
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "a")
    assert (caught.value.status, caught.value.attempts) == (429, 1) and sleeps.delays == []


def test_503_is_retried_with_exponential_backoff(
    reader: SmhReadClient, emu: Emulator, sleeps: Sleeps
) -> None:
    reader.list_directory("-", "")
    emu.set_faults({"error_rate": 1.0, "error_statuses": [503]})
    _heal_after(emu, sleeps, 3)
    reader.list_directory("-", "a")
    # base 0.5 doubling, times the test's jitter draw of 0.5
    assert sleeps.delays == [0.25, 0.5, 1.0]


def test_a_client_error_is_not_retried(reader: SmhReadClient, emu: Emulator,
                                       sleeps: Sleeps) -> None:
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "missing")
    assert caught.value.attempts == 1 and sleeps.delays == []


def test_giving_up_names_method_route_status_code_and_attempts_never_the_token(
    connect: Connect, emu: Emulator, sleeps: Sleeps
) -> None:
    emu.set_faults({"error_rate": 1.0, "error_statuses": [503]})
    reader: SmhReadClient = connect(attempts=3,
                                    credentials=Credentials(access_token=Secret(ADMIN_TOKEN)))
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "a")
    error = caught.value
    assert (error.method, error.status, error.code, error.attempts) == (
        "GET", 503, "ServerOverloaded", 3)
    assert str(error).startswith("GET /api/v1/directory/smhdemo/-/a failed: HTTP 503 "
                                 "ServerOverloaded")
    assert str(error).endswith("after 3 attempts")
    assert ADMIN_TOKEN not in str(error) and ADMIN_TOKEN not in repr(error)
    assert len(sleeps.delays) == 2
    assert emu.stats()["requests"]["GET /api/v1/directory"] == 3


def test_drops_over_real_loopback_are_retried(
    connect: Connect, emu: Emulator, sleeps: Sleeps
) -> None:
    with emu.serve() as base_url:
        reader: SmhReadClient = connect(endpoint=base_url)
        reader.list_directory("-", "")
        emu.set_faults({"drop_rate": 1.0})
        _heal_after(emu, sleeps, 2)
        assert len(reader.list_directory("-", "a")) == 3
    dropped = [e["dropped"] for e in emu.request_log() if e["route"] == "directory"]
    assert dropped == [False, True, True, False]


def test_a_batch_dropped_after_taking_effect_is_resent_and_says_so(
    connect: Connect, emu: Emulator, sleeps: Sleeps
) -> None:
    with emu.serve() as base_url:
        writer: SmhWriteClient = connect(SmhWriteClient, endpoint=base_url)
        writer.list_directory("-", "")
        writer.delete_file("-", "docs/handbook.pdf", permanent=False)  # mint the delete token
        emu.set_faults({"drop_rate": 1.0, "drop_phase": "after"})
        _heal_after(emu, sleeps, 1)
        reply = writer.batch_delete("-", [DeleteItem("hello.txt", False),
                                          DeleteItem("a/c", False)])
    assert reply.retried and reply.attempts == 2
    assert reply.results is not None
    # The first attempt did the work; the resent batch finds both gone.
    assert [(r.path, r.status, r.not_found) for r in reply.results] == [
        ("hello.txt", 404, True),
        ("a/c", 404, True),
    ]
    recycled = {r["originalPath"] for r in emu.state()["spaces"]["-"]["recycled"]}
    assert {"hello.txt", "a/c"} <= recycled


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_is_retried_then_reported(connect: Connect, sleeps: Sleeps) -> None:
    reader: SmhReadClient = connect(endpoint=f"http://127.0.0.1:{_closed_port()}", attempts=3)
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "")
    assert "ConnectError" in str(caught.value) and caught.value.status is None
    assert caught.value.attempts == 3 and len(sleeps.delays) == 2
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_timeout_is_retried(connect: Connect, emu: Emulator, sleeps: Sleeps) -> None:
    with emu.serve() as base_url:
        reader: SmhReadClient = connect(endpoint=base_url, timeout=0.2)
        reader.list_directory("-", "")
        emu.set_faults({"latency_ms": 600})
        _heal_after(emu, sleeps, 1)
        assert len(reader.list_directory("-", "a")) == 3
    assert len(sleeps.delays) == 1
