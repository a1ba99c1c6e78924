"""A hostile server cannot widen what is deleted: `plan` and `apply` over real loopback HTTP
against the emulator, its answers spoiled on the way out. A listing answer that is not the
documented shape, or that never ends, is a listing error for its space (nothing deleted there,
the plan says which directory and why, exit 1); a token the server echoes back reaches no
output, report or journal."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.client import SmhReadClient
from reconciler.emulator import Clock, Emulator, HttpRequest, HttpResponse
from tests.apply.scenarios import HEAD, cli
from tests.apply.support import LIBRARY
from tests.hostile import deletes_sent, is_listing, on_listing, spoil_answers, with_json
from tests.strategies import apply_manifests, consistent, manifest_text, paths_strategy

pytestmark = pytest.mark.e2e

TOKEN = "hostile-token-4e8a1c"
SECRET = "hostile-secret-9d2b7f"
PATHS = ["tmp/keep/k1.txt", "tmp/keep/k2.txt", "tmp/x.part", "tmp/sub/y.part", "docs/a.txt"]
MANIFEST = HEAD + """\
  - id: "-"
    protect: ["tmp/keep/*"]
    purge: [tmp/]
"""


class Site:
    """The library on loopback, a manifest, and the files an apply writes."""

    def __init__(self, tmp_path: Path, emu: Emulator, url: str) -> None:
        self.emu = emu
        self.url = url
        self.manifest = tmp_path / "library.yaml"
        self.manifest.write_text(MANIFEST)
        self.state_dir = tmp_path / "state"
        self.report = tmp_path / "report.json"

    def run(self, *args: str | Path, env: dict[str, str | None] | None = None
            ) -> tuple[int, str, str]:
        return cli(*args, endpoint=self.url, env={"SMH_ACCESS_TOKEN": TOKEN, **(env or {})})

    def plan(self) -> tuple[int, str, str]:
        return self.run("plan", self.manifest)

    def apply(self, **kwargs: Any) -> tuple[int, str, str]:
        return self.run("apply", self.manifest, "--auto-approve", "--report", self.report,
                        "--state-dir", self.state_dir, **kwargs)

    def paths(self) -> list[str]:
        return list(self.emu.state()["spaces"]["-"]["paths"])

    def written(self) -> list[str]:
        """The report and every file of the state folder (journals included)."""
        files = [self.report, *self.state_dir.rglob("*")]
        return [path.read_text() for path in files if path.is_file()]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": TOKEN,
                              "spaces": {"-": PATHS}}, clock=Clock(start=1_800_000_000.0))
    with emu.serve() as url:
        yield Site(tmp_path, emu, url)


def test_the_unspoiled_library_plans_the_deletes_the_spoiled_ones_must_not_make(
    site: Site,
) -> None:
    code, out, _ = site.plan()
    assert code == 0
    assert "tmp/x.part" in out and "tmp/sub" in out and "tmp/keep" not in out


def _drop(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda doc: {k: v for k, v in doc.items() if k != key}


def _rows(change: Callable[[list[dict[str, Any]]], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda doc: {**doc, "contents": change(doc["contents"])}


def _without(field: str) -> Callable[[list[dict[str, Any]]], Any]:
    return lambda rows: [{k: v for k, v in row.items() if k != field} for row in rows]


SHAPES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "empty object": (lambda doc: {}, "answer.contents is missing, not a list"),
    "contents null": (lambda doc: {**doc, "contents": None},
                      "answer.contents is missing, not a list"),
    "no contents key": (_drop("contents"), "answer.contents is missing, not a list"),
    "contents a string": (lambda doc: {**doc, "contents": "k1.txt"},
                          "answer.contents is a string, not a list"),
    "contents an object": (lambda doc: {**doc, "contents": {"name": "keep"}},
                           "answer.contents is an object, not a list"),
    "rows without a name": (_rows(_without("name")), r"contents[0].name is missing"),
    "rows without a type": (_rows(_without("type")), r"contents[0].type is missing"),
    "rows with an empty name": (_rows(lambda rows: [{**r, "name": ""} for r in rows]),
                                "contents[0].name is empty"),
    "rows that are not objects": (_rows(lambda rows: ["keep", "x.part"]),
                                  "contents[0] is a string, not an object"),
    "the answer a list": (lambda doc: [doc], "answer is a list, not an object"),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_listing_not_in_the_documented_shape_deletes_nothing_in_its_space(
    site: Site, shape: str
) -> None:
    change, reason = SHAPES[shape]
    spoil_answers(site.emu, on_listing("tmp", change))
    before = site.paths()

    code, out, err = site.plan()
    assert code == 1
    assert "listing tmp/:" in out + err and reason in out + err
    assert "tmp/keep" not in out

    code, out, err = site.apply()
    assert code == 1, out + err
    assert "listing tmp/:" in out + err
    assert deletes_sent(site.emu) == []
    assert site.paths() == before


def test_a_later_page_without_contents_deletes_nothing(site: Site) -> None:
    site.emu.set_faults({"max_list_limit": 1})  # one entry a page: `tmp` takes four pages
    spoil_answers(site.emu, on_listing("tmp", _drop("contents"), later_pages=True))
    before = site.paths()
    code, out, err = site.plan()
    assert code == 1 and "answer.contents is missing, not a list" in out + err
    code, out, err = site.apply()
    assert code == 1 and deletes_sent(site.emu) == []
    assert site.paths() == before


def test_a_recycle_bin_listing_without_contents_is_a_listing_error(site: Site) -> None:
    def spoil(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if request.method == "GET" and "/api/v1/recycled/" in request.target:
            return with_json(answer, {})  # no `totalNum` either: the bin must be listed
        return answer

    spoil_answers(site.emu, spoil)
    code, out, err = site.plan()
    assert code == 1 and "listing the recycle bin" in out + err
    assert "answer.contents is missing, not a list" in out + err
    code, out, err = site.apply()
    assert code == 1 and deletes_sent(site.emu) == []


def endless_markers(directory: str) -> Callable[[HttpRequest, HttpResponse], HttpResponse]:
    """Answers every page of `directory` with no entries and a marker never seen before."""
    served = iter(range(10**9))

    def spoil(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if not is_listing(request, directory):
            return answer
        return with_json(answer, {"path": directory.split("/"), "contents": [],
                                  "nextMarker": f"m{next(served)}"}, status=200)

    return spoil


def test_a_listing_that_never_ends_ends_in_a_listing_error(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SmhReadClient, "max_pages", 25)
    spoil_answers(site.emu, endless_markers("tmp"))
    code, out, err = site.plan()
    assert code == 1 and "listing tmp/:" in out + err
    assert "the listing did not end after 25 pages" in out + err
    pages = [e for e in site.emu.request_log() if e["route"] == "directory" and e["path"] == "tmp"]
    assert len(pages) == 25
    code, out, err = site.apply()
    assert code == 1 and deletes_sent(site.emu) == []


def test_a_listing_that_serves_more_entries_than_the_space_holds_is_a_listing_error(
    site: Site,
) -> None:
    # The space's file count says it holds 5 files and a few directories; this listing of
    # tmp/ serves 100 new names a page, for ever.
    served = iter(range(10**9))

    def spoil(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if not is_listing(request, "tmp"):
            return answer
        rows = [{"name": f"n{next(served)}", "type": "file", "size": "1"} for _ in range(100)]
        return with_json(answer, {"path": ["tmp"], "contents": rows,
                                  "nextMarker": f"m{next(served)}"}, status=200)

    spoil_answers(site.emu, spoil)
    code, out, err = site.plan()
    assert code == 1 and "listing tmp/:" in out + err
    assert "more than 1,018 entries" in out + err  # 2 x (5 files + 4 dirs) + 1,000
    pages = [e for e in site.emu.request_log() if e["route"] == "directory"
             and e["path"] == "tmp" and "stats" not in e["query"]]
    assert len(pages) == 11
    code, out, err = site.apply()
    assert code == 1 and deletes_sent(site.emu) == []


@pytest.mark.slow
def test_a_listing_that_never_ends_stops_at_the_stated_page_cap(site: Site) -> None:
    spoil_answers(site.emu, endless_markers("tmp"))
    code, out, err = site.plan()
    assert code == 1
    assert f"the listing did not end after {SmhReadClient.max_pages:,} pages" in out + err


def echo_secrets(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
    """Fails every batch item with a message that echoes the credential it was sent with."""
    if "/api/v1/batch/" not in request.target or answer.status not in (200, 207):
        return answer
    credential = request.headers.get("authorization", "")
    token = credential.removeprefix("Bearer ")
    said = f"token {token} ({credential}) may not do this; access_token={token}"
    doc = json.loads(answer.body)
    doc["result"] = [{"path": item["path"], "status": 403, "code": f"NoPermission-{token}",
                      "message": said} for item in doc["result"]]
    return with_json(answer, doc, status=207)


@pytest.mark.parametrize("credential", ["token", "secret"])
def test_a_token_echoed_in_a_batch_item_reaches_no_output_report_or_journal(
    site: Site, credential: str
) -> None:
    spoil_answers(site.emu, echo_secrets)
    env = {"SMH_ACCESS_TOKEN": None, "SMH_LIBRARY_SECRET": SECRET} if credential == "secret" else {}
    code, out, err = site.apply(env=env)
    assert code == 1, out + err  # every item failed
    report = json.loads(site.report.read_text())
    assert {item["outcome"] for item in report["items"]} == {"failed"}
    assert all("may not do this" in item["message"] for item in report["items"])
    texts = [out, err, *site.written()]
    assert all(TOKEN not in text and SECRET not in text for text in texts)
    assert all("acctk" not in text for text in texts)  # the minted tokens' prefix


@pytest.mark.parametrize("status", [403, 404, 200])
def test_a_token_echoed_in_a_listing_error_reaches_no_output_or_plan_file(
    site: Site, tmp_path: Path, status: int
) -> None:
    def spoil(request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if not is_listing(request, "tmp"):
            return answer
        credential = request.headers.get("authorization", "")
        token = credential.removeprefix("Bearer ")
        doc: dict[str, Any] = {"code": f"Denied{token}",
                               "message": f"{credential} / {token} refused", "requestId": token}
        if status == 200:  # a listing whose rows echo it in their type
            doc = {"contents": [{"name": "k", "type": token}]}
        return with_json(answer, doc, status=status)

    spoil_answers(site.emu, spoil)
    planfile = tmp_path / "plan.json"
    code, out, err = site.run("plan", site.manifest, "--out", planfile,
                              env={"SMH_ACCESS_TOKEN": None, "SMH_LIBRARY_SECRET": SECRET})
    if status == 200:  # an unknown type is kept and warned about, never a failed listing
        assert code == 0 and "tmp/k" in out
    else:
        assert code == 1 and "listing tmp/:" in out + err
    texts = [out, err, planfile.read_text()]
    assert all(SECRET not in text and "acctk" not in text for text in texts)


# -- any directory of any tree, any manifest, any of the shapes above ---------------------------


class Spoiling:
    """Spoils the listing answers of one directory, noting whether any answer changed."""

    def __init__(self, directory: str, change: Callable[[dict[str, Any]], Any]) -> None:
        self.directory = directory
        self.change = change
        self.changed = False

    def __call__(self, request: HttpRequest, answer: HttpResponse) -> HttpResponse:
        if answer.status != 200 or not is_listing(request, self.directory):
            return answer
        doc = json.loads(answer.body)
        spoiled = self.change(json.loads(answer.body))
        self.changed = self.changed or spoiled != doc
        return with_json(answer, spoiled)


def spoiled_anywhere(examples: int) -> Callable[[], None]:
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(paths=paths_strategy, manifest=apply_manifests, shape=st.sampled_from(sorted(SHAPES)),
           pick=st.integers(min_value=0))
    def property_(paths: list[str], manifest: dict[str, Any], shape: str, pick: int) -> None:
        paths = consistent(paths)
        directories = sorted({""} | {p.rstrip("/").rsplit("/", 1)[0] if "/" in p.rstrip("/")
                                     else "" for p in paths} | {p.rstrip("/") for p in paths
                                                              if p.endswith("/")})
        spoil = Spoiling(directories[pick % len(directories)], SHAPES[shape][0])
        emu = Emulator.from_seed({"library": LIBRARY, "secret": SECRET, "token": TOKEN,
                                  "spaces": {"-": paths}})
        spoil_answers(emu, spoil)
        with tempfile.TemporaryDirectory() as folder, emu.serve() as url:
            manifest_file = Path(folder) / "library.yaml"
            manifest_file.write_text(manifest_text(manifest))
            code, out, err = cli("validate", manifest_file, endpoint=url,
                                 env={"SMH_ACCESS_TOKEN": TOKEN})
            assume(code == 0)
            code, out, err = cli("apply", manifest_file, "--auto-approve", "--state-dir",
                                 Path(folder) / "state", endpoint=url,
                                 env={"SMH_ACCESS_TOKEN": TOKEN})
            if spoil.changed:
                where = f"{spoil.directory}/" if spoil.directory else "the space root"
                assert code == 1 and f"listing {where}:" in out + err, out + err
                assert deletes_sent(emu) == []
            else:
                assert code == 0, out + err

    return property_


def test_a_spoiled_listing_of_any_directory_deletes_nothing() -> None:
    spoiled_anywhere(10)()


@pytest.mark.slow
def test_a_spoiled_listing_of_any_directory_deletes_nothing_many_cases() -> None:
    spoiled_anywhere(200)()
