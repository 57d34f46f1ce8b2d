"""`agentdeck.prompt(name, default)`: a prompt an application reads at run time, so a replay can edit it.

Code not written with the engine (a LangGraph app, say) names each prompt it uses. Outside a replay
the call returns `default`; a replay (or a saved version put in force) overrides it by name for the
duration of one invocation, through a context variable that LangGraph's worker threads inherit. The
adapter also collects every name read during a traced run with its default, so the dashboard and the
CLI can offer the prompts for editing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_overrides: ContextVar[Mapping[str, str] | None] = ContextVar("agentdeck_prompt_overrides", default=None)
_reads: ContextVar[dict[str, str] | None] = ContextVar("agentdeck_prompt_reads", default=None)


def prompt(name: str, default: str) -> str:
    """The text of prompt `name`: `default`, unless a replay or a saved version overrides it."""
    reads = _reads.get()
    if reads is not None:
        reads.setdefault(name, default)
    overrides = _overrides.get()
    if overrides is not None and name in overrides:
        return overrides[name]
    return default


@contextmanager
def overriding(overrides: Mapping[str, str]) -> Iterator[None]:
    """Within the block, `prompt(name, ...)` returns `overrides[name]` for the names it holds."""
    for name, text in overrides.items():
        if not text.strip():
            raise ValueError(f"the prompt for {name} is empty")
    token = _overrides.set({**(_overrides.get() or {}), **overrides})
    try:
        yield
    finally:
        _overrides.reset(token)


@contextmanager
def collecting() -> Iterator[dict[str, str]]:
    """Within the block, every prompt read is added (name -> default) to the dict it yields."""
    seen: dict[str, str] = {}
    token = _reads.set(seen)
    try:
        yield seen
    finally:
        _reads.reset(token)


def in_force() -> Mapping[str, str]:
    """The overrides in force here (name -> text); empty outside a replay."""
    return dict(_overrides.get() or {})
