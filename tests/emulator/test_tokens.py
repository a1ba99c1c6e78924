"""Token endpoints (generate, renew, delete) and how tokens are checked on every call."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator import Clock, Emulator

from .support import ADMIN, LIBRARY, SECRET, api, error_code, token


def test_generate_returns_token_and_period(anon: httpx.Client) -> None:
    response = anon.get("/api/v1/token", params={"library_id": LIBRARY,
                                                 "library_secret": SECRET, "period": "3600"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "expiresIn"}
    assert body["expiresIn"] == 3600


def test_generate_by_post_with_json_body(anon: httpx.Client) -> None:
    response = anon.post("/api/v1/token", json={"library_id": LIBRARY, "library_secret": SECRET,
                                                "grant": "delete_file"})
    assert response.status_code == 200


@pytest.mark.parametrize(("period", "expected"), [
    ("10", 300), ("299", 300), ("300", 300), ("7200", 7200), ("999999999", 315360000),
    ("0", 86400), ("-5", 86400), ("soon", 86400), (None, 86400)])
def test_period_is_clamped(anon: httpx.Client, period: str | None, expected: int) -> None:
    params = {"library_id": LIBRARY, "library_secret": SECRET}
    if period is not None:
        params["period"] = period
    assert anon.get("/api/v1/token", params=params).json()["expiresIn"] == expected


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"library_id": LIBRARY}, 400, "EmptyLibraryIdOrSecret"),
    ({"library_secret": SECRET}, 400, "EmptyLibraryIdOrSecret"),
    ({"library_id": LIBRARY, "library_secret": "wrong"}, 404, "WrongLibraryIdOrSecret"),
    ({"library_id": "other", "library_secret": SECRET}, 404, "WrongLibraryIdOrSecret"),
    ({"library_id": LIBRARY, "library_secret": SECRET, "grant": "delete_everything"}, 400,
     "ParamInvalid"),
    ({"library_id": LIBRARY, "library_secret": SECRET, "space_id": "nope"}, 404,
     "SpaceNotFound"),
])
def test_generate_errors(anon: httpx.Client, params: dict[str, str], status: int,
                         code: str) -> None:
    assert error_code(anon.get("/api/v1/token", params=params)) == (status, code)


def test_missing_invalid_and_bearer_tokens(anon: httpx.Client) -> None:
    listing = api("directory")
    assert error_code(anon.get(listing)) == (400, "EmptyAccessToken")
    assert error_code(anon.get(listing, params={"access_token": "nope"})) == (
        403, "InvalidAccessToken")
    assert anon.get(listing, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    assert error_code(anon.get(listing, headers={"Authorization": "Bearer nope"})) == (
        403, "InvalidAccessToken")


def test_token_expires_and_use_slides_expiry(anon: httpx.Client, clock: Clock) -> None:
    value = token(anon, period="600")
    listing = api("directory")
    clock.advance(500)
    assert anon.get(listing, params={"access_token": value}).status_code == 200
    clock.advance(500)  # 1000 s after issue, but only 500 s after the last use
    assert anon.get(listing, params={"access_token": value}).status_code == 200
    clock.advance(601)
    assert error_code(anon.get(listing, params={"access_token": value})) == (
        403, "InvalidAccessToken")


def test_renew_extends_and_delete_revokes(anon: httpx.Client, clock: Clock) -> None:
    value = token(anon, period="600")
    clock.advance(599)
    renewed = anon.post(f"/api/v1/token/{LIBRARY}/{value}")
    assert renewed.status_code == 200
    assert renewed.json() == {"accessToken": value, "expiresIn": 600}
    clock.advance(599)
    assert anon.get(api("directory"), params={"access_token": value}).status_code == 200
    deleted = anon.delete(f"/api/v1/token/{LIBRARY}/{value}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert deleted.headers["X-Request-Id"]
    assert error_code(anon.get(api("directory"), params={"access_token": value})) == (
        403, "InvalidAccessToken")
    assert error_code(anon.post(f"/api/v1/token/{LIBRARY}/{value}")) == (
        403, "InvalidAccessToken")


def test_renew_of_expired_token_is_refused(anon: httpx.Client, clock: Clock) -> None:
    value = token(anon, period="300")
    clock.advance(301)
    assert error_code(anon.post(f"/api/v1/token/{LIBRARY}/{value}")) == (
        403, "InvalidAccessToken")


def test_delete_tokens_of_a_user(anon: httpx.Client) -> None:
    alice = token(anon, user_id="alice")
    bob = token(anon, user_id="bob")
    response = anon.delete(f"/api/v1/token/{LIBRARY}",
                           params={"library_secret": SECRET, "user_id": "alice"})
    assert response.status_code == 204
    assert anon.get(api("directory"), params={"access_token": alice}).status_code == 403
    assert anon.get(api("directory"), params={"access_token": bob}).status_code == 200


def test_wrong_library_in_path(client: httpx.Client) -> None:
    assert error_code(client.get("/api/v1/directory/otherlib/-/")) == (404, "LibraryNotFound")


MULTI_SEED = {"library": LIBRARY, "secret": SECRET, "token": ADMIN,
              "spaces": {"space-a": ["a.txt"], "space-b": ["b.txt", "dir/"]}}


@pytest.fixture
def multi() -> httpx.Client:
    emu = Emulator.from_seed(MULTI_SEED)
    return httpx.Client(transport=emu.transport(), base_url="https://x")


def test_space_scoped_token(multi: httpx.Client) -> None:
    value = token(multi, space_id="space-a")
    assert multi.get(api("directory", space="space-a"),
                     params={"access_token": value}).status_code == 200
    assert error_code(multi.get(api("directory", space="space-b"),
                                params={"access_token": value})) == (
        403, "AccessTokenNotMatchSpace")
    assert error_code(multi.get(api("directory", space="nope"),
                                params={"access_token": value})) == (404, "SpaceNotFound")
    assert error_code(multi.get(api("directory", space="-"),
                                params={"access_token": ADMIN})) == (404, "SpaceNotFound")


def test_multi_tenant_token_needs_space_unless_admin(multi: httpx.Client) -> None:
    params = {"library_id": LIBRARY, "library_secret": SECRET}
    assert error_code(multi.get("/api/v1/token", params=params)) == (400, "EmptySpaceId")
    admin = multi.get("/api/v1/token", params={**params, "grant": "admin"}).json()["accessToken"]
    for space in ("space-a", "space-b"):
        assert multi.get(api("directory", space=space),
                         params={"access_token": admin}).status_code == 200
