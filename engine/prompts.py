"""Saved prompt versions: an edited prompt kept as a new version of one agent's prompt.

Stored beside the checkpoints (the SQLite file, or the PostgreSQL every worker shares), with who saved
it, when and why, keyed by the workflow's name and the prompt's name (for engine agents, the agent's
name). Saving never changes what runs: a saved version is in force only for a run or replay that asks
for it (`--prompt-version NAME=VERSION`, or picked in the dashboard), through `PromptStore.overrides`;
everything else keeps the prompt written in the code. `workflow` arguments are a workflow reference
(an example's name or MODULE:ATTR), resolved with `get_workflow`. agent spans record
`agentdeck.prompt.version` as the content label of the template (`prompt_version_of`), which this
store keeps beside each version, so a span's version leads back to the saved one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from agentdeck.engine.agents import prompt_version_of
from agentdeck.engine.record_store import RecordStore
from agentdeck.engine.workflows import get_workflow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agentdeck_prompt_versions (
    workflow TEXT NOT NULL,
    agent TEXT NOT NULL,
    version TEXT NOT NULL,
    template TEXT NOT NULL,
    label TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (workflow, agent, version)
);
"""
_PG_SCHEMA = _SCHEMA.replace("created_ns INTEGER", "created_ns BIGINT")


@dataclass(frozen=True, slots=True)
class PromptVersion:
    workflow: str
    agent: str
    version: str  # v1 (the built-in prompt's own label), then the saved ones: v2, v3, ...
    template: str
    label: str  # what agent spans record as agentdeck.prompt.version for this template
    author: str
    reason: str
    created_ns: int
    builtin: bool = False


class PromptStore(RecordStore):
    SCHEMA = _SCHEMA
    PG_SCHEMA = _PG_SCHEMA

    def versions(self, workflow: str, agent: str) -> list[PromptVersion]:
        """The agent's built-in prompt first, then its saved versions, oldest first."""
        wf = get_workflow(workflow)
        builtin = wf.agent(agent)  # KeyError naming the workflow for an unknown agent
        rows = self.query(
            "SELECT workflow, agent, version, template, label, author, reason, created_ns"
            " FROM agentdeck_prompt_versions WHERE workflow = ? AND agent = ? ORDER BY created_ns, version",
            (wf.name, agent),
        )
        first = PromptVersion(
            wf.name,
            agent,
            builtin.prompt.version,
            builtin.prompt.template,
            builtin.prompt.version,
            "built-in",
            "the workflow's own prompt",
            0,
            builtin=True,
        )
        return [first, *(PromptVersion(*r) for r in rows)]

    def save(self, workflow: str, agent: str, template: str, *, author: str, reason: str) -> PromptVersion:
        """Save `template` as the agent's next version; an unchanged template is refused."""
        if not template.strip():
            raise ValueError("the prompt is empty")
        if not author.strip():
            raise ValueError("say who saves this version (author)")
        existing = self.versions(workflow, agent)
        same = next((v for v in existing if v.template == template), None)
        if same is not None:
            raise ValueError(f"this prompt is already {agent}'s version {same.version}")
        numbers = [int(v.version[1:]) for v in existing if v.version[1:].isdigit()]
        version = f"v{max(numbers, default=1) + 1}"
        label = prompt_version_of(template)
        name = get_workflow(workflow).name
        saved = PromptVersion(name, agent, version, template, label, author.strip(), reason.strip(), time.time_ns())
        self.write(
            "INSERT INTO agentdeck_prompt_versions VALUES (?,?,?,?,?,?,?,?)",
            (name, agent, version, template, label, saved.author, saved.reason, saved.created_ns),
        )
        return saved

    def get(self, workflow: str, agent: str, version: str) -> PromptVersion:
        versions = self.versions(workflow, agent)
        for v in versions:
            if v.version == version:
                return v
        raise KeyError(
            f"{agent} has no prompt version {version!r}; choose one of: {', '.join(v.version for v in versions)}"
        )

    def by_label(self, workflow: str, agent: str, label: str) -> PromptVersion | None:
        """The saved version whose template spans record as `label` (what a run used)."""
        return next((v for v in self.versions(workflow, agent) if v.label == label), None)

    def overrides(self, workflow: str, chosen: Mapping[str, str]) -> dict[str, str]:
        """Prompt overrides ({agent: template}) for `{agent: version}`, for a run or a replay."""
        return {agent: self.get(workflow, agent, version).template for agent, version in chosen.items()}
