"""No token and no library secret ever shows: a whole session — minting, listing, deleting,
retries, refusals, failures of every kind — is run with debug logging on, and every log record,
exception message, traceback and repr it produced is searched for the secret values."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import httpx
import pytest

from reconciler.auth import Credentials, Secret
from reconciler.client import (
    DeleteItem,
    ReadOnlyViolation,
    SmhReadClient,
    SmhWriteClient,
)
from reconciler.client.session import route
from reconciler.emulator import Emulator
from reconciler.errors import ReconcileError

from .support import ADMIN_TOKEN, ENDPOINT, LIBRARY, SECRET, Connect, Observing, Rewriting, Sleeps


@pytest.mark.parametrize("server_reads", ["both", "query"])
def test_a_full_session_never_shows_a_secret(
    emu: Emulator, connect: Connect, sleeps: Sleeps, caplog: pytest.LogCaptureFixture,
    server_reads: str,
) -> None:
    # A server that reads the token only from the query makes every client fall back to
    # `?access_token=`, so URLs that carry the token pass through the logs and errors.
    emu.token_transport = server_reads
    caplog.set_level(logging.DEBUG)
    observed = Observing(emu.transport())
    shown: list[str] = []
    errors: list[BaseException] = []

    def expect_failure(action: Callable[[], object]) -> None:
        try:
            action()
        except ReconcileError as error:
            errors.append(error)
        else:  # pragma: no cover - a scenario that should fail did not
            raise AssertionError("expected a failure")

    writer: SmhWriteClient = connect(SmhWriteClient, transport=observed)
    reader: SmhReadClient = connect(transport=observed)
    shown += [repr(writer), repr(reader), repr(writer._session.tokens)]
    shown.append(repr(Credentials(library_secret=Secret(SECRET))))

    reader.list_directory("-", "")
    reader.info("-", "a/b.txt")
    reader.recycle_bin_items("-")
    reader.history_enabled()
    reader.list_spaces()
    reply = writer.batch_delete("-", [DeleteItem("tmp", False), DeleteItem("a/b.txt", True),
                                      DeleteItem("missing", False)])
    shown.append(repr(reply))
    shown.append(repr(writer.delete_file("-", "hello.txt", permanent=False)))
    shown.append(repr(writer.delete_file("-", "hello.txt", permanent=False)))  # 404
    ids = [item.recycled_item_id for item in writer.list_recycle_bin("-")]
    shown.append(repr(writer.restore_recycled("-", ids)))
    writer.delete_directory("-", "tmp", permanent=False)
    writer.empty_recycle_bin("-")
    shown.append(repr(writer.wait_task(None, writer.clear_history())))

    # A revoked token (renewed), retried faults, and faults that outlast the retries.
    (first_token, *_) = sorted(observed.tokens)
    with httpx.Client(transport=emu.transport(), base_url=ENDPOINT) as http:
        for token in observed.tokens:
            http.delete(f"/api/v1/token/{LIBRARY}/{token}")
    reader.list_directory("-", "a")
    emu.set_faults({"error_rate": 1.0, "retry_after_s": 1})
    expect_failure(lambda: reader.list_directory("-", "a"))
    expect_failure(lambda: writer.batch_delete("-", [DeleteItem("docs", True)]))
    emu.set_faults({})
    with emu.serve() as base_url:
        over_loopback: SmhReadClient = connect(endpoint=base_url)
        over_loopback.list_directory("-", "")
        emu.set_faults({"drop_rate": 1.0})
        expect_failure(lambda: over_loopback.list_directory("-", "a"))
        emu.set_faults({})

    # Refusals and failures of every other kind.
    expect_failure(lambda: reader.list_directory("-", "no/such/dir"))
    expect_failure(lambda: reader._session.request(
        "DELETE", route("file", LIBRARY, "-", path="docs/handbook.pdf"), space="-", grants=()))
    expect_failure(lambda: writer.delete_directory("-", "", permanent=True))
    fixed: SmhReadClient = connect(credentials=Credentials(access_token=Secret("fixed-tok-77")))
    expect_failure(lambda: fixed.list_directory("-", ""))
    wrong: SmhReadClient = connect(credentials=Credentials(library_secret=Secret("bad-sec-88")))
    expect_failure(lambda: wrong.list_directory("-", ""))
    leaky = Rewriting(emu.transport(), lambda request, status, body: (
        (500, f"oops {request.url} {ADMIN_TOKEN} {SECRET}".encode())
        if "/directory/" in request.url.path else (status, body)))
    garbled: SmhReadClient = connect(credentials=Credentials(access_token=Secret(ADMIN_TOKEN)),
                                     transport=leaky, attempts=1)
    expect_failure(lambda: garbled.list_directory("-", ""))

    assert any(isinstance(error, ReadOnlyViolation) for error in errors)
    assert len(observed.tokens) >= 6  # read, deletes, restore, bin, admin tokens were minted
    secrets = {SECRET, ADMIN_TOKEN, "fixed-tok-77", "bad-sec-88", first_token, *observed.tokens}

    for error in errors:
        shown += [str(error), repr(error), *map(str, error.args)]
        shown += traceback.format_exception(error)
    for record in caplog.records:
        shown.append(record.getMessage())
        shown.append(str(record.args))
        if record.exc_text:
            shown.append(record.exc_text)
    shown.append(caplog.text)

    # The secret went out in the token requests' query, and the token too where the server
    # reads only the query: what crossed the wire is what no output may show.
    assert any("library_secret" in entry["query"] for entry in emu.request_log())
    if server_reads == "query":
        assert any("access_token" in entry["query"] for entry in emu.request_log())
    assert any(record.name == "reconciler.client.session" for record in caplog.records)
    output = "\n".join(shown)
    for value in secrets:
        assert value not in output, f"a secret value leaked: {value[:4]}..."


def test_a_short_secret_is_masked_on_its_own_but_not_inside_other_words() -> None:
    from reconciler.auth import Secret, redact

    Secret("t")
    assert redact("HTTP 404 LibraryNotFound for the directory") == (
        "HTTP 404 LibraryNotFound for the directory"
    )
    assert redact("token t refused") == "token *** refused"


def test_a_long_secret_is_masked_even_glued_to_other_text() -> None:
    from reconciler.auth import Secret, redact

    Secret("acctk0123456789abcdef")
    assert redact("Deniedacctk0123456789abcdef!") == "Denied***!"
    assert redact("x=acctk0123456789abcdefYZ") == "x=***YZ"
