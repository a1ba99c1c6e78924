"""Where the token rides: `auto` sends the `Authorization: Bearer` header and, once a server
answers 400 `EmptyAccessToken` (it ignores the header), the `access_token` query parameter for
the rest of the run; `header` and `query` use one place only. Each against an emulator that
reads the header only, the query only, or both."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.auth import Credentials, Secret, TokenTransport
from reconciler.client import DeleteItem, SmhReadClient, SmhRequestError, SmhWriteClient
from reconciler.emulator import Emulator
from reconciler.errors import ReconcileError

from .support import SECRET, Connect, Observing


def credentials(transport: TokenTransport) -> Credentials:
    return Credentials(library_secret=Secret(SECRET), token_transport=transport)


def api_requests(emu: Emulator) -> list[dict[str, Any]]:
    return [e for e in emu.request_log() if e["route"] != "token"]


def carried_in_query(emu: Emulator) -> list[bool]:
    return ["access_token" in e["query"] for e in api_requests(emu)]


@pytest.mark.parametrize("server_reads", ["header", "both"])
def test_auto_keeps_to_the_header_where_the_server_reads_it(
    emu: Emulator, connect: Connect, server_reads: str
) -> None:
    emu.token_transport = server_reads
    writer: SmhWriteClient = connect(SmhWriteClient, credentials=credentials(TokenTransport.AUTO))
    writer.list_directory("-", "")
    writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    assert [e["status"] for e in api_requests(emu)] == [200, 200]
    assert carried_in_query(emu) == [False, False]


def test_auto_falls_back_to_the_query_once_and_keeps_it_for_the_run(
    emu: Emulator, connect: Connect
) -> None:
    emu.token_transport = "query"
    observed = Observing(emu.transport())
    writer: SmhWriteClient = connect(SmhWriteClient, transport=observed,
                                     credentials=credentials(TokenTransport.AUTO))
    assert [e.path for e in writer.list_directory("-", "a")] == ["a/c", "a/d", "a/b.txt"]
    writer.list_directory("-", "")
    reply = writer.batch_delete("-", [DeleteItem("hello.txt", False)])
    assert [result.status for result in reply.results or ()] == [200]
    # The refused first send did nothing, so the batch counts as sent once.
    assert not reply.retried
    statuses = [(e["route"], e["status"]) for e in api_requests(emu)]
    assert statuses == [("directory", 400), ("directory", 200), ("directory", 200),
                        ("batch", 200)]
    assert carried_in_query(emu) == [False, True, True, True]
    assert "hello.txt" not in emu.state()["spaces"]["-"]["paths"]


def test_a_write_refused_for_want_of_a_token_falls_back_too(
    emu: Emulator, connect: Connect
) -> None:
    # A public-read space answers reads without a token: only the first write shows it.
    emu.token_transport = "query"
    writer: SmhWriteClient = connect(SmhWriteClient, credentials=credentials(TokenTransport.AUTO))
    result = writer.delete_file("-", "hello.txt", permanent=False)
    assert result.status == 200 and result.recycled_item_id is not None
    assert [(e["route"], e["status"]) for e in api_requests(emu)] == [("file", 400),
                                                                      ("file", 200)]


@pytest.mark.parametrize(("client", "server_reads"), [
    (TokenTransport.HEADER, "query"),
    (TokenTransport.QUERY, "header"),
])
def test_a_fixed_transport_the_server_does_not_read_is_one_clear_error(
    emu: Emulator, connect: Connect, client: TokenTransport, server_reads: str
) -> None:
    emu.token_transport = server_reads
    reader: SmhReadClient = connect(credentials=credentials(client))
    with pytest.raises(SmhRequestError) as caught:
        reader.list_directory("-", "")
    assert (caught.value.status, caught.value.code) == (400, "EmptyAccessToken")
    assert len(api_requests(emu)) == 1  # no fallback: the user chose where the token goes


@pytest.mark.parametrize(("client", "server_reads", "in_query"), [
    (TokenTransport.HEADER, "header", False),
    (TokenTransport.HEADER, "both", False),
    (TokenTransport.QUERY, "query", True),
    (TokenTransport.QUERY, "both", True),
])
def test_a_fixed_transport_sends_the_token_only_there(
    emu: Emulator, connect: Connect, client: TokenTransport, server_reads: str, in_query: bool
) -> None:
    emu.token_transport = server_reads
    reader: SmhReadClient = connect(credentials=credentials(client))
    reader.list_directory("-", "")
    reader.recycle_bin_items("-")
    assert carried_in_query(emu) == [in_query, in_query]


def test_the_transport_comes_from_the_environment() -> None:
    base = {"SMH_ACCESS_TOKEN": "tok-1"}
    assert Credentials.from_env(base).token_transport is TokenTransport.AUTO
    for value, expected in (("header", TokenTransport.HEADER), ("QUERY", TokenTransport.QUERY),
                            ("auto", TokenTransport.AUTO), ("", TokenTransport.AUTO)):
        env = {**base, "SMH_TOKEN_TRANSPORT": value}
        assert Credentials.from_env(env).token_transport is expected
    with pytest.raises(ReconcileError) as caught:
        Credentials.from_env({**base, "SMH_TOKEN_TRANSPORT": "cookie"})
    assert "SMH_TOKEN_TRANSPORT" in caught.value.message and "auto" in caught.value.message


def test_the_emulator_refuses_an_unknown_transport() -> None:
    with pytest.raises(ValueError):
        Emulator.from_seed({"library": "l", "secret": "s", "spaces": {"-": []}},
                           token_transport="cookie")
