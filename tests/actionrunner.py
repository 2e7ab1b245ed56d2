"""Run the shell steps of a GitHub composite action (``action.yml``) or of a workflow job
the way the runner does: each ``run:`` through bash as GitHub calls it, with the step's ``env``,
``working-directory`` and the ``GITHUB_*`` files (``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``, ...), and each ``${{ ... }}`` expanded from the contexts.

Only what this repository's action and workflows use is understood: expressions that
name a context value (``inputs.x``, ``github.action_path``, ``steps.id.outputs.x``,
``github.event.pull_request.head.sha``); anything else fails the test instead of being
guessed. ``if:`` conditions are not evaluated (a test runs the steps it means to run).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_NAME = re.compile(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*")
_DEFAULT_VARIABLES = ("repository", "ref_name", "base_ref", "event_name", "sha")
#: What a test does itself before it runs a job's steps (a clone; the interpreter on PATH).
_DONE_BY_THE_TEST = ("actions/checkout", "actions/setup-python")


class _Empty(dict):
    """The outputs of a step that did not run: any name expands to nothing."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class StepResult:
    name: str
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    script: str = ""  # the step's script, expressions expanded


@dataclass
class Runner:
    """The runner's state across steps: contexts, environment, the GITHUB_* files."""

    workspace: Path
    temp: Path
    github: dict = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.temp.mkdir(parents=True, exist_ok=True)
        self.summary = self.temp / "step_summary.md"
        self.summary.write_text("")

    def expand(self, text: str, contexts: dict) -> str:
        def value(match: re.Match) -> str:
            expression = match.group(1)
            assert _NAME.fullmatch(expression), f"expression not understood: {expression!r}"
            found = contexts
            for part in expression.split("."):
                assert isinstance(found, dict) and part in found, f"unknown: {expression!r}"
                found = found[part]
            return "" if found is None else str(found)

        return _EXPRESSION.sub(value, text)

    def run_step(self, step: dict, contexts: dict, cwd: Path) -> StepResult:
        assert step.get("shell", "bash") == "bash", step
        env_base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHON"))}
        output = self.temp / f"output-{len(self.results)}"
        output.write_text("")
        env = {
            **env_base,
            **self.env,
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_ENV": str(self.temp / "env"),
            "GITHUB_PATH": str(self.temp / "path"),
            "RUNNER_TEMP": str(self.temp),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            # the runner's default variables the steps read, from the github context
            **{
                f"GITHUB_{name.upper()}": str(self.github[name])
                for name in _DEFAULT_VARIABLES
                if name in self.github
            },
        }
        env.update({k: self.expand(str(v), contexts) for k, v in step.get("env", {}).items()})
        folder = cwd / self.expand(step.get("working-directory", "."), contexts)
        script = self.temp / f"step-{len(self.results)}.sh"
        script.write_text(self.expand(step["run"], contexts))
        proc = subprocess.run(
            # GitHub's commands: `shell: bash`, and a workflow step's default (no shell:)
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
            if "shell" in step
            else ["bash", "-e", str(script)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        result = StepResult(
            step.get("name", step.get("id", "")),
            proc.returncode,
            proc.stdout,
            proc.stderr,
            outputs,
            script.read_text(),
        )
        self.results.append(result)
        if "id" in step:
            self.steps[step["id"]] = {"outputs": outputs, "conclusion": proc.returncode}
        return result

    def run_action(self, action: Path, inputs: dict[str, str], step_id: str | None = None):
        """Every step of a composite action, stopping at the first that fails; returns
        the action's outputs and the results of its steps."""
        definition = yaml.safe_load(action.read_text())
        assert definition["runs"]["using"] == "composite"
        given = {
            name: inputs.get(name, spec.get("default", ""))
            for name, spec in definition.get("inputs", {}).items()
        }
        assert set(inputs) <= set(given), f"unknown inputs: {set(inputs) - set(given)}"
        outer_steps, self.steps = self.steps, {}
        github = {**self.github, "action_path": str(action.parent)}
        results = []
        try:
            for step in definition["runs"]["steps"]:
                contexts = {"inputs": given, "github": github, "steps": self.steps}
                result = self.run_step(step, contexts, self.workspace)
                results.append(result)
                if result.code != 0:
                    break
            for step in definition["runs"]["steps"]:
                if "id" in step and step["id"] not in self.steps:
                    # not run (an earlier step failed): GitHub expands its outputs empty
                    self.steps[step["id"]] = {"outputs": _Empty(), "conclusion": "skipped"}
            contexts = {"inputs": given, "github": github, "steps": self.steps}
            outputs = {
                name: self.expand(spec["value"], contexts)
                for name, spec in definition.get("outputs", {}).items()
            }
        finally:
            self.steps = outer_steps
        if step_id:
            self.steps[step_id] = {"outputs": outputs}
        return outputs, results

    def run_job(self, workflow: Path, job: str) -> list[StepResult]:
        """The job's ``run:`` steps, in order, stopping at the first that fails (as
        steps without ``if:`` do). ``actions/checkout`` and ``actions/setup-python`` are
        the test's to have done (a clone, the interpreter first on ``PATH``); any other
        ``uses:`` fails the test rather than being skipped."""
        definition = yaml.safe_load(workflow.read_text())
        results = []
        for step in definition["jobs"][job]["steps"]:
            if "uses" in step:
                assert step["uses"].split("@")[0] in _DONE_BY_THE_TEST, step["uses"]
                continue
            contexts = {"github": self.github, "steps": self.steps}
            results.append(self.run_step(step, contexts, self.workspace))
            if results[-1].code != 0:
                break
        return results


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())
