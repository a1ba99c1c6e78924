"""GitLab API steps for the smh-reconcile pipeline in .gitlab-ci.yml (standard library only).

Copy to ci/smh_gitlab.py in the repository that holds the manifests.

    python ci/smh_gitlab.py note plan.md           # create or update the merge request's plan note
    python ci/smh_gitlab.py reviewed-plan plan.json  # fetch the plan reviewed in the merged MR
    python ci/smh_gitlab.py drift-open drift.md     # open or update the `smh-drift` issue
    python ci/smh_gitlab.py drift-close             # close it once the library matches again

It reads GitLab's predefined CI variables and GITLAB_API_TOKEN (a project access token with
the `api` scope, kept in a masked CI/CD variable); the token goes in a request header only
and is never printed.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

MARKER = "<!-- smh-reconcile-plan -->"
DRIFT_LABEL = "smh-drift"
PLAN_JOB = "smh-plan"


def api(method: str, path: str, body: dict[str, Any] | None = None, *, raw: bool = False) -> Any:
    url = f"{os.environ['CI_API_V4_URL']}/projects/{os.environ['CI_PROJECT_ID']}{path}"
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"PRIVATE-TOKEN": os.environ["GITLAB_API_TOKEN"],
                 "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            data = answer.read()
    except urllib.error.HTTPError as error:
        sys.exit(f"GitLab API {method} {path.split('?')[0]}: HTTP {error.code}")
    return data if raw else json.loads(data or b"null")


def pages(path: str) -> list[Any]:
    items: list[Any] = []
    page = 1
    while True:
        batch = api("GET", f"{path}{'&' if '?' in path else '?'}per_page=100&page={page}")
        items.extend(batch)
        if len(batch) < 100:
            return items
        page += 1


def note(plan_md: str) -> None:
    """One plan note per merge request, found by the marker the Markdown plan starts with."""
    with open(plan_md, encoding="utf-8") as handle:
        body = handle.read()
    notes = f"/merge_requests/{os.environ['CI_MERGE_REQUEST_IID']}/notes"
    previous = next((n for n in pages(f"{notes}?sort=asc")
                     if n.get("body", "").startswith(MARKER)), None)
    if previous is None:
        api("POST", notes, {"body": body})
    else:
        api("PUT", f"{notes}/{previous['id']}", {"body": body})


def reviewed_plan(out: str) -> None:
    """The plan file kept by the newest pipeline of the merge request merged as this commit."""
    sha = os.environ["CI_COMMIT_SHA"]
    branch = urllib.parse.quote(os.environ["CI_COMMIT_BRANCH"])
    merged = api("GET", f"/merge_requests?state=merged&target_branch={branch}"
                        "&order_by=updated_at&sort=desc&per_page=50")
    request = next((mr for mr in merged
                    if sha in (mr.get("merge_commit_sha"), mr.get("squash_commit_sha"),
                               mr.get("sha"))), None)
    if request is None:
        sys.exit(f"no merged merge request for {sha}; nothing to apply")
    pipelines = api("GET", f"/merge_requests/{request['iid']}/pipelines")
    if not pipelines:
        sys.exit(f"merge request !{request['iid']} has no pipeline; nothing to apply")
    newest = pipelines[0]
    jobs = pages(f"/pipelines/{newest['id']}/jobs?scope[]=success")
    job = next((j for j in jobs if j["name"] == PLAN_JOB), None)
    if job is None:
        sys.exit(f"the newest pipeline of !{request['iid']} ({newest['web_url']}) has no "
                 f"successful {PLAN_JOB} job; nothing to apply")
    with open(out, "wb") as handle:
        handle.write(api("GET", f"/jobs/{job['id']}/artifacts/plan.json", raw=True))
    print(f"Applying the plan reviewed in !{request['iid']} ({job['web_url']}).")


def drift_issue() -> dict[str, Any] | None:
    issues = api("GET", f"/issues?labels={DRIFT_LABEL}&state=opened&per_page=1")
    return issues[0] if issues else None


def drift_open(drift_md: str) -> None:
    with open(drift_md, encoding="utf-8") as handle:
        description = handle.read()
    issue = drift_issue()
    if issue is None:
        api("POST", "/issues", {"title": "smh-reconcile: the library has drifted from its "
                                          "manifests",
                                "labels": DRIFT_LABEL, "description": description})
    else:
        api("PUT", f"/issues/{issue['iid']}", {"description": description})


def drift_close() -> None:
    issue = drift_issue()
    if issue is not None:
        api("POST", f"/issues/{issue['iid']}/notes",
            {"body": f"No drift any more ({os.environ.get('CI_JOB_URL', 'scheduled check')})."})
        api("PUT", f"/issues/{issue['iid']}", {"state_event": "close"})


def main(argv: list[str]) -> None:
    commands: dict[str, Callable[..., None]] = {
        "note": note, "reviewed-plan": reviewed_plan, "drift-open": drift_open,
        "drift-close": drift_close,
    }
    if not argv or argv[0] not in commands:
        sys.exit(f"usage: smh_gitlab.py {{{','.join(commands)}}} [FILE]")
    commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
