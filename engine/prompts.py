"""Saved prompt versions: an edited prompt kept as a new version of one named prompt.

Stored beside the checkpoints (the SQLite file, or the PostgreSQL every worker shares; for an adapted
LangGraph graph, the database of the graph's own checkpointer), with who saved it, when and why, keyed
by whose prompt it is (a `PromptOwner`) and the prompt's name. An engine workflow's prompts are its
agents' (the name is the agent's), stored under the workflow's name and checked against its agents; an
adapted graph's are the names given to `agentdeck.prompt`, stored under the graph's MODULE:ATTR and
checked against the prompts its runs recorded when the caller knows them (not at all otherwise: a
version must then exist to be used). Saving never changes what runs: a saved version is in force only
for a run or replay that asks for it (`--prompt-version NAME=VERSION`, picked in the dashboard, or
$AGENTDECK_PROMPT_VERSIONS in an adapted graph's process), through `PromptStore.overrides`; everything
else keeps the prompt written in the code. A plain `str` owner is an engine workflow reference (an
example's name or MODULE:ATTR), resolved with `get_workflow`. Agent spans record
`agentdeck.prompt.version` as the content label of the template (`prompt_version_of`), which this
store keeps beside each version, so a span's version leads back to the saved one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from agentdeck.engine.agents import prompt_version_of
from agentdeck.engine.record_store import RecordStore
from agentdeck.engine.replay.validate import agent_names
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


@dataclass(frozen=True, slots=True)
class PromptOwner:
    """Whose prompts: rows are stored under `key`; `builtins` holds each prompt's own text and label in
    the code (None: not known here, so names are not checked and there is no built-in version)."""

    key: str  # an engine workflow's name, or an adapted graph's MODULE:ATTR
    what: str  # for messages: "workflow triage", "graph app:graph"
    builtins: Mapping[str, tuple[str, str]] | None = field(default=None)  # name -> (template, label)
    missing: str = "prompt"  # what a name is, for messages: "agent" or "prompt"
    builtin_reason: str = "the default in the graph's code"  # the "why" of the built-in version

    def check(self, name: str) -> tuple[str, str] | None:
        """The built-in (template, label) of `name`; KeyError naming the choices when `name` is unknown."""
        if self.builtins is None:
            return None
        if name not in self.builtins:
            raise KeyError(
                f"{self.what} has no {self.missing} {name!r}; its {self.missing}s: {', '.join(self.builtins)}"
            )
        return self.builtins[name]


def workflow_owner(workflow: str) -> PromptOwner:
    """An engine workflow (an example's name or MODULE:ATTR): its agents' prompts, under its name."""
    wf = get_workflow(workflow)
    builtins = {n: (wf.agent(n).prompt.template, wf.agent(n).prompt.version) for n in agent_names(wf)}
    return PromptOwner(wf.name, f"workflow {wf.name}", builtins, "agent", "the workflow's own prompt")


def graph_owner(ref: str, recorded: Mapping[str, str] | None = None) -> PromptOwner:
    """An adapted graph: the prompts its runs read through `agentdeck.prompt` (`recorded`: name -> the
    default its code passed, when known), under its MODULE:ATTR."""
    builtins = {n: (text, "v1") for n, text in recorded.items()} if recorded else None
    return PromptOwner(ref, f"the graph {ref}", builtins, "prompt")


def _owner(owner: str | PromptOwner) -> PromptOwner:
    return owner if isinstance(owner, PromptOwner) else workflow_owner(owner)


class PromptStore(RecordStore):
    SCHEMA = _SCHEMA
    PG_SCHEMA = _PG_SCHEMA

    def versions(self, owner: str | PromptOwner, name: str) -> list[PromptVersion]:
        """The prompt's built-in text first (when known), then its saved versions, oldest first."""
        who = _owner(owner)
        builtin = who.check(name)  # KeyError naming the choices for an unknown name
        rows = self.query(
            "SELECT workflow, agent, version, template, label, author, reason, created_ns"
            " FROM agentdeck_prompt_versions WHERE workflow = ? AND agent = ? ORDER BY created_ns, version",
            (who.key, name),
        )
        saved = [PromptVersion(*r) for r in rows]
        if builtin is None:
            return saved
        template, label = builtin
        first = PromptVersion(who.key, name, label, template, label, "built-in", who.builtin_reason, 0, True)
        return [first, *saved]

    def save(self, owner: str | PromptOwner, name: str, template: str, *, author: str, reason: str) -> PromptVersion:
        """Save `template` as the prompt's next version; an unchanged template is refused."""
        if not template.strip():
            raise ValueError("the prompt is empty")
        if not author.strip():
            raise ValueError("say who saves this version (author)")
        who = _owner(owner)
        existing = self.versions(who, name)
        same = next((v for v in existing if v.template == template), None)
        if same is not None:
            raise ValueError(f"this prompt is already {name}'s version {same.version}")
        numbers = [int(v.version[1:]) for v in existing if v.version[1:].isdigit()]
        version = f"v{max(numbers, default=1) + 1}"
        label = prompt_version_of(template)
        saved = PromptVersion(who.key, name, version, template, label, author.strip(), reason.strip(), time.time_ns())
        self.write(
            "INSERT INTO agentdeck_prompt_versions VALUES (?,?,?,?,?,?,?,?)",
            (who.key, name, version, template, label, saved.author, saved.reason, saved.created_ns),
        )
        return saved

    def get(self, owner: str | PromptOwner, name: str, version: str) -> PromptVersion:
        who = _owner(owner)
        versions = self.versions(who, name)
        for v in versions:
            if v.version == version:
                return v
        choices = ", ".join(v.version for v in versions) or f"none saved yet for {who.what}"
        raise KeyError(f"{name} has no prompt version {version!r}; choose one of: {choices}")

    def by_label(self, owner: str | PromptOwner, name: str, label: str) -> PromptVersion | None:
        """The saved version whose template spans record as `label` (what a run used)."""
        return next((v for v in self.versions(owner, name) if v.label == label), None)

    def overrides(self, owner: str | PromptOwner, chosen: Mapping[str, str]) -> dict[str, str]:
        """Prompt overrides ({name: template}) for `{name: version}`, for a run or a replay."""
        who = _owner(owner)
        return {name: self.get(who, name, version).template for name, version in chosen.items()}
