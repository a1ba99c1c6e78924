"""The CI recipes under examples/ci: valid YAML, commands our CLI accepts, the essentials of each
recipe, secrets kept out of scripts, and their shell steps run for real against the emulator."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.emulator import Emulator
from reconciler.render.markdown import MARKER
from tests.scripts import invocations

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
GITHUB = CI / "github"
GITLAB_CI = CI / "gitlab" / ".gitlab-ci.yml"
GITLAB_HELPER = CI / "gitlab" / "smh_gitlab.py"
TOKEN = "examples-test-token-9012"


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def github_workflows() -> dict[str, dict[Any, Any]]:
    return {path.name: load(path) for path in sorted(GITHUB.glob("*.yml"))}


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job["steps"]


def github_scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(workflow) if "run" in step]


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    document = load(GITLAB_CI)
    return {name: job for name, job in document.items()
            if isinstance(job, dict) and "script" in job}


def gitlab_scripts() -> list[str]:
    document = load(GITLAB_CI)
    scripts = list(document["default"]["before_script"])
    for job in gitlab_jobs().values():
        scripts.extend(job.get("before_script", []))
        scripts.extend(job["script"])
    return scripts


def all_invocations() -> list[list[str]]:
    scripts = [s for w in github_workflows().values() for s in github_scripts(w)]
    return [args for script in scripts + gitlab_scripts() for args in invocations(script)]


def invocation(scripts: list[str], command: str) -> list[str]:
    matches = [args for script in scripts for args in invocations(script)
               if args[0] == command]
    assert len(matches) == 1, (command, matches)
    return matches[0]


def test_every_recipe_is_yaml_with_jobs() -> None:
    workflows = github_workflows()
    assert set(workflows) == {"plan.yml", "apply.yml", "drift.yml", "snapshot.yml",
                              "plan-fork.yml", "plan-fork-comment.yml"}
    for workflow in workflows.values():
        assert workflow["name"] and triggers(workflow) and workflow["jobs"]
    assert {"smh-plan", "smh-plan-fork", "smh-apply", "smh-drift",
            "smh-snapshot"} <= set(gitlab_jobs())


def test_every_smh_reconcile_command_parses_with_our_cli() -> None:
    used = all_invocations()
    assert {args[0] for args in used} == {"validate", "plan", "apply", "snapshot"}
    for args in used:
        command = main.commands[args[0]]
        with command.make_context(f"smh-reconcile {args[0]}", args[1:]):
            pass


def test_github_plan_posts_one_comment_and_keeps_the_plan_file() -> None:
    workflow = github_workflows()["plan.yml"]
    assert "pull_request" in triggers(workflow)
    args = invocation(github_scripts(workflow), "plan")
    assert args[args.index("--format") + 1] == "markdown"
    assert args[args.index("--out") + 1] == "plan.json"
    uploads = [s for s in steps(workflow) if s.get("uses", "").startswith(
        "actions/upload-artifact@")]
    assert len(uploads) == 1 and "plan.json" in uploads[0]["with"]["path"]
    assert uploads[0]["with"]["name"] == "smh-plan"
    comment = next(s for s in steps(workflow)
                   if s.get("uses", "").startswith("actions/github-script@"))
    script = comment["with"]["script"]
    assert f"'{MARKER}'" in script and "updateComment" in script and "createComment" in script
    assert workflow["permissions"]["pull-requests"] == "write"


def test_github_apply_applies_the_reviewed_plan_file_on_merge() -> None:
    workflows = github_workflows()
    workflow = workflows["apply.yml"]
    assert triggers(workflow)["pull_request"]["types"] == ["closed"]
    assert "merged == true" in workflow["jobs"]["apply"]["if"]
    scripts = github_scripts(workflow)
    args = invocation(scripts, "apply")
    assert args[1] == "reviewed/plan.json" and "--auto-approve" in args and "--report" in args
    fetch = next(s for s in scripts if "gh run download" in s)
    named = re.findall(r"[\w-]+\.yml", fetch)
    assert named == ["plan.yml", "plan-fork.yml"] and set(named) <= set(workflows)
    assert "--name smh-plan" in fetch
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_github_drift_uses_detailed_exitcode_and_alerts_on_2() -> None:
    workflow = github_workflows()["drift.yml"]
    assert "schedule" in triggers(workflow)
    assert "--detailed-exitcode" in invocation(github_scripts(workflow), "plan")
    conditions = [s.get("if", "") for s in steps(workflow)]
    assert "steps.drift.outputs.exit_code == '2'" in conditions
    assert workflow["permissions"]["issues"] == "write"


def test_github_fork_variant_plans_offline_from_a_trusted_snapshot() -> None:
    workflows = github_workflows()
    snapshot = workflows["snapshot.yml"]
    args = invocation(github_scripts(snapshot), "snapshot")
    assert args[args.index("--out") + 1] == "listing.json"
    upload = next(s for s in steps(snapshot)
                  if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "smh-listing"
    assert triggers(snapshot)["workflow_run"]["workflows"] == [workflows["apply.yml"]["name"]]

    fork = workflows["plan-fork.yml"]
    assert "!= github.repository" in fork["jobs"]["plan"]["if"]
    assert "== github.repository" in workflows["plan.yml"]["jobs"]["plan"]["if"]
    assert "${{ secrets." not in (GITHUB / "plan-fork.yml").read_text()
    args = invocation(github_scripts(fork), "plan")
    assert args[args.index("--from-listing") + 1] == "listing.json"
    assert any("--name smh-listing" in s for s in github_scripts(fork))

    comment = workflows["plan-fork-comment.yml"]
    assert triggers(comment)["workflow_run"]["workflows"] == [fork["name"]]
    assert not any(s.get("uses", "").startswith("actions/checkout") for s in steps(comment))


def test_github_secrets_reach_commands_only_through_env() -> None:
    workflows = github_workflows()
    checked = 0
    assert len(workflows) >= 6, sorted(workflows)
    for name, workflow in workflows.items():
        for step in steps(workflow):
            script = step.get("run", "")
            # No expression is ever spliced into a script: values arrive as env variables.
            assert "${{" not in script, (name, script)
            assert "set -x" not in script and "printenv" not in script
            assert not re.search(r"echo[^\n]*\$\{?SMH_", script), (name, script)
            for key, value in step.get("env", {}).items():
                if "secrets." in str(value):
                    assert key in {"SMH_ACCESS_TOKEN", "SMH_LIBRARY_SECRET",
                                   "SMH_PLAN_SIGNING_KEY"}, (name, key)
                    checked += 1
    assert checked >= 3  # the recipes do pass secrets, all of them checked above


def test_gitlab_recipe_has_the_same_three_jobs() -> None:
    jobs = gitlab_jobs()
    plan = jobs["smh-plan"]
    assert "merge_request_event" in plan["rules"][0]["if"]
    args = invocation(plan["script"], "plan")
    assert args[args.index("--out") + 1] == "plan.json"
    assert "plan.json" in plan["artifacts"]["paths"]
    assert any("smh_gitlab.py note plan.md" in line for line in plan["script"])

    apply = jobs["smh-apply"]
    assert "$CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert invocation(apply["script"], "apply")[1] == "plan.json"
    assert "resource_group" in apply

    drift = jobs["smh-drift"]
    assert '"schedule"' in drift["rules"][0]["if"]
    assert "--detailed-exitcode" in invocation(drift["script"], "plan")

    fork = jobs["smh-plan-fork"]
    assert "--from-listing" in invocation(fork["script"], "plan")
    assert "SMH_READONLY_TOKEN" not in str(fork)
    assert "snapshot" in invocation(jobs["smh-snapshot"]["script"], "snapshot")[0]
    for script in gitlab_scripts():
        assert "set -x" not in script and not re.search(r"echo[^\n]*\$\{?(SMH_|GITLAB_)", script)


def test_gitlab_helper_has_every_command_the_pipeline_calls() -> None:
    helper = _helper()
    calls = {match.group(1) for script in gitlab_scripts()
             for match in re.finditer(r"smh_gitlab\.py ([\w-]+)", script)}
    assert calls == {"note", "reviewed-plan", "drift-open", "drift-close"}
    assert helper.MARKER == MARKER
    for call in calls:
        assert f'"{call}"' in GITLAB_HELPER.read_text()


def test_gitlab_helper_updates_the_existing_plan_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = _helper()
    sent: list[tuple[str, str, Any]] = []

    def api(method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        sent.append((method, path.split("?")[0], body))
        if method == "GET":
            return [{"id": 5, "body": "looks good"}, {"id": 7, "body": f"{MARKER}\nold"}]
        return {}

    monkeypatch.setattr(helper, "api", api)
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
    (tmp_path / "plan.md").write_text(f"{MARKER}\nnew")
    helper.note(str(tmp_path / "plan.md"))
    assert sent[-1] == ("PUT", "/merge_requests/12/notes/7", {"body": f"{MARKER}\nnew"})


def test_gitlab_helper_fetches_the_plan_of_the_merged_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = _helper()
    answers = {
        "/merge_requests": [{"iid": 3, "merge_commit_sha": "aaa", "sha": "x"},
                            {"iid": 4, "merge_commit_sha": None, "squash_commit_sha": "bbb",
                             "sha": "y"}],
        "/merge_requests/4/pipelines": [{"id": 40, "web_url": "u40"}, {"id": 39}],
        "/pipelines/40/jobs": [{"id": 400, "name": "smh-validate"},
                               {"id": 401, "name": "smh-plan", "web_url": "u401"}],
        "/jobs/401/artifacts/plan.json": b'{"kind": "smh-reconcile-plan"}',
    }

    def api(method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        return answers[path.split("?")[0]]

    monkeypatch.setattr(helper, "api", api)
    monkeypatch.setenv("CI_COMMIT_SHA", "bbb")
    monkeypatch.setenv("CI_COMMIT_BRANCH", "main")
    helper.reviewed_plan(str(tmp_path / "plan.json"))
    assert (tmp_path / "plan.json").read_bytes() == answers["/jobs/401/artifacts/plan.json"]


def _helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smh_gitlab", GITLAB_HELPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the recipes' shell steps, run for real against the emulator ---------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A checkout with the demo manifest, an emulator serving the demo library, and the
    environment a CI runner would give (our CLI on PATH, no credentials of the caller)."""
    (tmp_path / "manifests").mkdir()
    shutil.copy(ROOT / "manifests" / "demo.yaml", tmp_path / "manifests" / "demo.yaml")
    seed = yaml.safe_load((ROOT / "reconciler" / "data" / "demo-seed.yaml").read_text())
    seed["token"] = TOKEN
    env = {key: value for key, value in os.environ.items() if not key.startswith("SMH_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env[name] = str(tmp_path / name.lower())
    env.update(GITHUB_SERVER_URL="https://github.example", GITHUB_REPOSITORY="o/r",
               GITHUB_RUN_ID="1", CI_JOB_URL="https://gitlab.example/job/1")
    with Emulator.from_seed(seed).serve() as url:
        env["SMH_ENDPOINT"] = url
        yield tmp_path, env


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not shutil.which("smh-reconcile", path=env["PATH"]):
        pytest.skip("the smh-reconcile console script is not installed next to this Python")
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=60, check=False)


def step_named(workflow: str, name: str) -> dict[str, Any]:
    return next(s for s in steps(github_workflows()[workflow]) if s.get("name") == name)


def test_github_plan_step_runs(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    step = step_named("plan.yml", "Plan")
    env["SMH_ACCESS_TOKEN"] = TOKEN  # what `secrets.SMH_READONLY_TOKEN` would give
    done = run_step(step["run"], cwd, env)
    assert done.returncode == 0, done.stderr
    assert (cwd / "github_output").read_text() == "exit_code=0\n"
    plan_md = (cwd / "plan.md").read_text()
    assert plan_md.startswith(MARKER) and plan_md in (cwd / "github_step_summary").read_text()
    assert (cwd / "plan.json").is_file()
    assert TOKEN not in done.stdout + done.stderr + plan_md


def test_github_plan_step_reports_a_failed_plan(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    done = run_step(step_named("plan.yml", "Plan")["run"], cwd, env)  # no credentials
    assert done.returncode == 0
    assert (cwd / "github_output").read_text() == "exit_code=1\n"
    assert (cwd / "plan.md").read_text().startswith(f"{MARKER}\n\n**smh-reconcile could not")


def test_github_drift_step_reports_drift_as_2(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    env["SMH_ACCESS_TOKEN"] = TOKEN
    done = run_step(step_named("drift.yml", "Plan with --detailed-exitcode")["run"], cwd, env)
    assert done.returncode == 0, done.stderr
    assert (cwd / "github_output").read_text() == "exit_code=2\n"
    assert "::warning::" in done.stdout


def test_github_snapshot_then_fork_plan_steps_run(
    workspace: tuple[Path, dict[str, str]]
) -> None:
    cwd, env = workspace
    done = run_step(step_named("snapshot.yml", "Save the listing")["run"], cwd,
                    {**env, "SMH_ACCESS_TOKEN": TOKEN})
    assert done.returncode == 0, done.stderr
    offline = {key: value for key, value in env.items() if key != "SMH_ENDPOINT"}
    done = run_step(step_named("plan-fork.yml", "Plan from the listing")["run"], cwd, offline)
    assert done.returncode == 0, done.stderr
    assert (cwd / "github_output").read_text() == "exit_code=0\n"
    listed_at = json.loads((cwd / "listing.json").read_text())["listed_at"]
    assert listed_at in (cwd / "plan.md").read_text()


def test_gitlab_plan_and_drift_scripts_run(workspace: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workspace
    # The GitLab API steps are recorded instead of sent.
    (cwd / "ci").mkdir()
    (cwd / "ci" / "smh_gitlab.py").write_text(
        "import sys\nopen('api-calls', 'a').write(' '.join(sys.argv[1:]) + '\\n')\n")
    env["SMH_READONLY_TOKEN"] = TOKEN
    jobs = gitlab_jobs()
    for job in ("smh-plan", "smh-drift"):
        done = run_step("\n".join(jobs[job]["script"]), cwd, env)
        expected = 0 if job == "smh-plan" else 2
        assert done.returncode == expected, (job, done.stdout, done.stderr)
        assert TOKEN not in done.stdout + done.stderr
    assert (cwd / "api-calls").read_text() == "note plan.md\ndrift-open drift.md\n"
    assert (cwd / "plan.json").is_file() and (cwd / "drift.md").read_text().startswith(MARKER)
