"""Credentials, secrets, redaction, and tokens minted with just the grants each call needs,
renewed before expiry and once when the server calls them invalid."""

from __future__ import annotations

import logging
import pickle

import httpx
import pytest

from reconciler.auth import (
    Credentials,
    MintedToken,
    MintedTokens,
    Operation,
    RedactingFilter,
    Secret,
    delete_grants,
    grants_for,
    redact,
)
from reconciler.client import DeleteItem, SmhReadClient, SmhWriteClient
from reconciler.client.session import TOKEN_PERIOD
from reconciler.emulator import Clock, Emulator
from reconciler.errors import CredentialsError, ReconcileError, SmhError

from .support import (
    ADMIN_TOKEN,
    ENDPOINT,
    LIBRARY,
    SECRET,
    Connect,
    Observing,
    seeded,
    token_requests,
)

# -- Secret and Credentials --------------------------------------------------------------------


def test_a_secret_shows_as_stars_everywhere_but_reveal() -> None:
    secret = Secret("tok-very-secret")
    assert str(secret) == "***"
    assert repr(secret) == "Secret(***)"
    assert f"{secret} {secret!r} {secret:>20}" == "*** Secret(***) ***"
    assert secret.reveal() == "tok-very-secret"
    assert "tok-very-secret" not in repr(Credentials(access_token=secret))
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_credentials_from_env() -> None:
    token = Credentials.from_env({"SMH_ACCESS_TOKEN": "tok-1"})
    assert token.access_token == Secret("tok-1") and token.library_secret is None
    minted = Credentials.from_env({"SMH_LIBRARY_SECRET": "lib-secret"})
    assert minted.library_secret == Secret("lib-secret") and minted.access_token is None
    both = Credentials.from_env({"SMH_ACCESS_TOKEN": "tok-1", "SMH_LIBRARY_SECRET": "x-secret"})
    assert both.access_token is not None


@pytest.mark.parametrize("env", [{}, {"SMH_ACCESS_TOKEN": "", "SMH_LIBRARY_SECRET": "  "}])
def test_no_credentials_names_both_variables(env: dict[str, str]) -> None:
    with pytest.raises(ReconcileError) as caught:
        Credentials.from_env(env)
    assert "SMH_ACCESS_TOKEN" in caught.value.message
    assert "SMH_LIBRARY_SECRET" in caught.value.message


def test_redact_masks_known_values_their_encodings_and_secret_query_values() -> None:
    Secret("tok/with+odd=chars")
    text = (
        "token tok/with+odd=chars in a url tok%2Fwith%2Bodd%3Dchars and "
        "GET /api/v1/token?library_id=l&library_secret=never-seen&grant= "
        "x?access_token=abc123&y=1 Authorization: Bearer zzz.yyy"
    )
    cleaned = redact(text)
    for leaked in ("tok/with+odd=chars", "tok%2Fwith%2Bodd%3Dchars", "never-seen", "abc123",
                   "zzz.yyy"):
        assert leaked not in cleaned
    assert "library_secret=***" in cleaned and "access_token=***" in cleaned
    assert "&y=1" in cleaned and "library_id=l" in cleaned


def test_the_logging_filter_redacts_formatted_records() -> None:
    Secret("flt-secret-value")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", ("flt-secret-value",),
                               None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "sent ***"


# -- grants ------------------------------------------------------------------------------------


def test_grants_for_each_operation() -> None:
    assert grants_for(Operation.READ) == ()
    assert grants_for(Operation.DELETE_RECYCLE) == ("delete_directory", "delete_file")
    assert grants_for(Operation.DELETE_PERMANENT) == (
        "delete_directory",
        "delete_directory_permanent",
        "delete_file",
        "delete_file_permanent",
    )
    assert grants_for(Operation.EMPTY_RECYCLE_BIN) == ("delete_recycled",)
    assert grants_for(Operation.RESTORE) == ("restore_recycled",)
    assert grants_for(Operation.ADMIN) == ("admin",)
    assert delete_grants(permanent=[False, False]) == grants_for(Operation.DELETE_RECYCLE)
    assert delete_grants(permanent=[False, True]) == grants_for(Operation.DELETE_PERMANENT)


def test_each_call_mints_a_token_with_just_its_grants(
    writer: SmhWriteClient, emu: Emulator
) -> None:
    writer.list_directory("-", "")
    writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    writer.batch_delete("-", [DeleteItem("tmp/x.part", True), DeleteItem("a/c", False)])
    (recycled,) = [i.recycled_item_id for i in writer.list_recycle_bin("-")
                   if i.original_path == "hello.txt"]
    assert recycled is not None
    writer.restore_recycled("-", [recycled])
    writer.empty_recycle_bin("-")
    writer.history_enabled()
    grants = [entry["query"].get("grant") for entry in token_requests(emu)]
    assert grants == [
        None,  # read-only: minted without a grant key, as the SDKs do
        "delete_directory,delete_file",
        "delete_directory,delete_directory_permanent,delete_file,delete_file_permanent",
        "restore_recycled",
        "delete_recycled",
        "admin",
    ]
    assert all(entry["query"]["library_secret"] == "***" for entry in token_requests(emu))


def test_tokens_are_cached_per_space_and_grants(clock: Clock, connect: Connect) -> None:
    emu = Emulator.from_seed(seeded(spaces={"alpha": ["a.txt"], "beta": ["b.txt"]}),
                             clock=clock)
    reader: SmhReadClient = connect(transport=emu.transport())
    for _ in range(3):
        reader.list_directory("alpha", "")
        reader.list_directory("beta", "")
    assert [(e["query"].get("space_id"), e["query"].get("grant")) for e in token_requests(emu)] == [
        ("alpha", None),
        ("beta", None),
    ]


def test_a_token_is_renewed_shortly_before_it_expires(
    reader: SmhReadClient, emu: Emulator, clock: Clock
) -> None:
    reader.list_directory("-", "")
    (minted,) = token_requests(emu)
    assert minted["query"]["period"] == str(TOKEN_PERIOD)  # short-lived: it fits the run
    clock.advance(TOKEN_PERIOD - 120)
    reader.list_directory("-", "")
    assert len(token_requests(emu)) == 1
    clock.advance(70)  # now inside the last minute of the period the token was minted for
    reader.list_directory("-", "")
    assert len(token_requests(emu)) == 2
    assert [e["status"] for e in emu.request_log() if e["route"] == "directory"] == [200] * 3


def test_a_revoked_token_is_renewed_once_and_the_request_retried(
    emu: Emulator, connect: Connect
) -> None:
    observed = Observing(emu.transport())
    reader: SmhReadClient = connect(transport=observed)
    reader.list_directory("-", "")
    (token,) = observed.tokens
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as http:
        assert http.delete(f"/api/v1/token/{LIBRARY}/{token}").status_code == 204
    assert [e.path for e in reader.list_directory("-", "a")] == ["a/c", "a/d", "a/b.txt"]
    statuses = [(e["route"], e["status"]) for e in emu.request_log() if e["method"] == "GET"]
    assert statuses == [
        ("token", 200),
        ("directory", 200),
        ("directory", 403),
        ("token", 200),
        ("directory", 200),
    ]


def test_a_token_the_server_expired_is_renewed(
    emu: Emulator, clock: Clock, connect: Connect
) -> None:
    # The client's clock stands still while the server's runs two days ahead.
    reader: SmhReadClient = connect(clock=lambda: 0.0)
    reader.list_directory("-", "")
    clock.advance(2 * 86400)
    reader.list_directory("-", "")
    assert len(token_requests(emu)) == 2


def test_a_fixed_access_token_that_is_refused_is_a_clear_error(connect: Connect) -> None:
    reader: SmhReadClient = connect(credentials=Credentials(access_token=Secret("stale-tok-9")))
    with pytest.raises(SmhError) as caught:
        reader.list_directory("-", "")
    message = str(caught.value)
    assert "SMH_ACCESS_TOKEN" in message and "InvalidAccessToken" in message
    assert "stale-tok-9" not in message


def test_a_fixed_access_token_is_used_as_is(connect: Connect, emu: Emulator) -> None:
    reader: SmhReadClient = connect(credentials=Credentials(access_token=Secret(ADMIN_TOKEN)))
    assert len(reader.list_directory("-", "")) == 4
    assert token_requests(emu) == []


def test_a_wrong_library_secret_is_a_clear_error(connect: Connect) -> None:
    reader: SmhReadClient = connect(
        credentials=Credentials(library_secret=Secret("wrong-secret-1"))
    )
    with pytest.raises(CredentialsError) as caught:
        reader.list_directory("-", "")
    assert "WrongLibraryIdOrSecret" in str(caught.value)
    assert "SMH_LIBRARY_SECRET was refused for library smhdemo" in str(caught.value)
    assert "wrong-secret-1" not in str(caught.value) and SECRET not in str(caught.value)


def test_minted_tokens_share_one_mint_per_key_and_renew_once_per_rejection() -> None:
    minted: list[tuple[str | None, tuple[str, ...]]] = []
    now = [0.0]

    def mint(space: str | None, grants: tuple[str, ...]) -> MintedToken:
        minted.append((space, grants))
        return MintedToken(Secret(f"unit-token-{len(minted)}"), 600.0)

    tokens = MintedTokens(mint, clock=lambda: now[0], renew_margin=60.0)
    first = tokens.token("-", ())
    assert tokens.token("-", ()) is first
    renewed = tokens.renew("-", (), first)
    # A second request rejected with the same old token gets the already renewed one.
    assert tokens.renew("-", (), first) is renewed
    assert len(minted) == 2
    now[0] = 541.0
    assert tokens.token("-", ()) is not renewed
    assert len(minted) == 3


def test_a_batch_sent_again_after_renewal_is_not_counted_as_retried(
    emu: Emulator, connect: Connect
) -> None:
    observed = Observing(emu.transport())
    writer: SmhWriteClient = connect(SmhWriteClient, transport=observed)
    writer.delete_file("-", "docs/handbook.pdf", permanent=False)
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as http:
        for token in observed.tokens:
            http.delete(f"/api/v1/token/{LIBRARY}/{token}")
    reply = writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    # The refused send did nothing, so the one that worked is the only attempt that counts.
    assert not reply.retried
    assert reply.results is not None and reply.results[0].status == 200
    assert [e["status"] for e in emu.request_log() if e["route"] == "batch"] == [403, 200]


def test_a_writer_revokes_the_tokens_it_minted_when_it_closes(
    emu: Emulator, connect: Connect
) -> None:
    observed = Observing(emu.transport())
    writer: SmhWriteClient = connect(SmhWriteClient, transport=observed)
    writer.list_directory("-", "")
    writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    minted = set(observed.tokens)
    assert len(minted) == 2
    writer.close()
    revoked = [e for e in emu.request_log() if e["route"] == "token" and e["method"] == "DELETE"]
    assert len(revoked) == 2 and {e["status"] for e in revoked} == {204}
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as http:
        for token in minted:
            answer = http.get(f"/api/v1/directory/{LIBRARY}/-/",
                              headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 403  # no longer valid


def test_a_reader_never_revokes_since_it_sends_nothing_but_get(
    emu: Emulator, connect: Connect
) -> None:
    reader: SmhReadClient = connect()
    reader.list_directory("-", "")
    reader.close()
    assert {e["method"] for e in emu.request_log()} == {"GET"}


def test_a_token_that_cannot_be_revoked_is_a_warning_only(
    emu: Emulator, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    writer: SmhWriteClient = connect(SmhWriteClient, attempts=2)
    writer.list_directory("-", "")
    emu.set_faults({"error_rate": 1.0, "error_statuses": [500]})
    with caplog.at_level(logging.WARNING):
        writer.close()  # does not raise
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "could not revoke an access token this run minted" in warning.getMessage()
    assert "acctk" not in warning.getMessage()
