"""`agentdeck.prompt(name, default)`: the default, unless a replay overrides the name; light to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import agentdeck


def test_prompt_returns_the_default_unless_overridden() -> None:
    from agentdeck.prompting import overriding

    assert agentdeck.prompt("greeting", "Hello") == "Hello"
    with overriding({"greeting": "Hi there"}):
        assert agentdeck.prompt("greeting", "Hello") == "Hi there"
        assert agentdeck.prompt("other", "Bye") == "Bye"
    assert agentdeck.prompt("greeting", "Hello") == "Hello"
    with pytest.raises(ValueError, match="the prompt for greeting is empty"), overriding({"greeting": " "}):
        pass


def test_reading_a_prompt_imports_no_langgraph() -> None:
    code = (
        "import sys, agentdeck; assert agentdeck.prompt('a', 'b') == 'b'; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('langgraph', 'langchain_core')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
