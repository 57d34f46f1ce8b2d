"""Where the Replay page finds the code of a thread's workflow, and what it says when it cannot.

A thread records its workflow's reference (`MODULE:ATTR`, `path.py:ATTR`, or an example's name). The
dashboard process must be able to import it. When the reference does not load as is, the workflow
is looked for, by reference or by name, in the modules the dashboard was told about:
`agentdeck dashboard --workflows MODULE` (repeatable), `AGENTDECK_WORKFLOWS=MODULE,...` (a module name
or a path to a .py file; `--workflows` sets this variable for the dashboard), and every
`agentdeck.workflows` entry point of the installed packages (`name = "pkg.module:WORKFLOW"`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path

from agentdeck.engine.checkpoints import is_postgres, open_checkpointer
from agentdeck.engine.execution import META_WORKFLOW
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import get_workflow, ref_in
from agentdeck.refs import RefError, load_module, load_ref

ENV_VAR = "AGENTDECK_WORKFLOWS"
ENTRY_POINT_GROUP = "agentdeck.workflows"
HOW_TO = (
    "Tell the dashboard where it lives: `agentdeck dashboard --workflows MODULE` (repeatable; a module name "
    f"or a path to a .py file), `{ENV_VAR}=MODULE,...`, or an `{ENTRY_POINT_GROUP}` entry point in your "
    "package's pyproject.toml; the module must be importable where the dashboard runs."
)


class WorkflowNotFound(LookupError):
    """A thread's workflow that neither loads nor is among the configured modules; says what to configure."""


def configured(environ: Mapping[str, str] | None = None) -> list[str]:
    """The modules named by AGENTDECK_WORKFLOWS, then the entry points' references, in that order."""
    env = os.environ if environ is None else environ
    named = [m.strip() for m in env.get(ENV_VAR, "").split(",") if m.strip()]
    return named + [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]


def is_configured(ref: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the module (or file) `ref` names is one the dashboard was told about. A reference read
    from a trace is sent by whoever can reach the collector, so the dashboard imports only code its
    operator named: never a module or file a span asks for."""
    target = ref.rpartition(":")[0] or ref
    for entry in configured(environ):
        allowed = entry.rpartition(":")[0] if ":" in entry else entry
        if allowed.endswith(".py") and target.endswith(".py"):
            if Path(allowed).expanduser().resolve() == Path(target).expanduser().resolve():
                return True
        elif target == allowed or target.startswith(allowed + "."):
            return True
    return False


def candidates(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Workflow], list[str]]:
    """Every workflow the configured modules and entry points hold, by loadable reference, and the
    problems met on the way (a module that does not import), one message each."""
    found: dict[str, Workflow] = {}
    problems: list[str] = []
    for entry in configured(environ):
        try:
            if ":" in entry:
                value = load_ref(entry)
                if isinstance(value, Workflow):
                    found[entry] = value
                continue
            target = entry if not entry.endswith(".py") else str(Path(entry).expanduser().resolve())
            module = load_module(target)
        except RefError as exc:
            problems.append(str(exc))
            continue
        for attr, value in vars(module).items():
            if isinstance(value, Workflow) and not attr.startswith("_"):
                found[f"{target}:{attr}"] = value
    return found, problems


def resolve(ref: str, name: str = "", environ: Mapping[str, str] | None = None) -> str:
    """A reference that loads the workflow `ref` names: `ref` itself when it loads, else the configured
    workflow recorded under `ref`, else the configured one called `name` (the thread's workflow name).
    WorkflowNotFound, saying what to configure, otherwise."""
    try:
        get_workflow(ref)
        return ref
    except ValueError as exc:
        reason = str(exc)
    found, problems = candidates(environ)
    for matches in (lambda wf, at: at == ref or wf.ref == ref, lambda wf, at: bool(name) and wf.name == name):
        for loadable, wf in found.items():
            if matches(wf, loadable):
                return loadable
    extra = f" Configured modules that failed: {'; '.join(problems)}." if problems else ""
    raise WorkflowNotFound(f"The workflow of this task, `{ref}`, cannot be imported here ({reason}). {HOW_TO}{extra}")


def for_thread(checkpoint_db: str | Path, thread_id: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The loadable reference of the thread's workflow; None when the thread (or the file) is not there
    (the caller's own lookup then says so). WorkflowNotFound when its code cannot be found."""
    if not is_postgres(checkpoint_db) and not Path(checkpoint_db).exists():
        return None
    with open_checkpointer(checkpoint_db) as saver:
        found = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    if found is None:
        return None
    meta = found.metadata or {}
    ref = ref_in(meta)
    return resolve(ref, str(meta.get(META_WORKFLOW, "")), environ) if ref else None
