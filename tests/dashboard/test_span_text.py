"""Span text helpers: `inert` keeps Markdown from forming, `conversation` puts the separately sent system
prompt back in front and clips nothing, `readable` decodes JSON held in strings."""

from __future__ import annotations

import json
import re

import pytest

from agentdeck.dashboard.components import WORD_JOINER, inert
from agentdeck.dashboard.messages import Part, conversation, readable
from agentdeck.dashboard.replay.run_view import EDITOR_MAX_PX, editor_height
from agentdeck.engine import semconv as sc


@pytest.mark.parametrize(
    "text",
    ["![x](http://h/x.png)", "[a](http://h)", "<b>x</b>", ":red[x]", "$x^2$", "**b** _i_ `c`", "# h", "1. x", "a\\b"],
)
def test_inert_text_reads_as_written_with_every_punctuation_escaped(text: str) -> None:
    out = inert(text)
    assert re.sub(r"\\(.)", r"\1", out).replace(WORD_JOINER, "") == text
    assert not re.search(r"(?<!\\)[!-/:-@\[-`{-~]", re.sub(r"\\.", "", out))  # nothing left unescaped


def test_inert_breaks_what_gfm_would_autolink_and_keeps_one_line() -> None:
    out = inert("see http://h/x\nor www.h.com or a@b.co")
    assert "\n" not in out
    assert "http://" not in out.replace("\\", "") and "www." not in out.replace("\\", "") and "a@" not in out


def test_the_conversation_has_the_system_prompt_the_user_turn_and_the_whole_answer() -> None:
    answer = "x" * 50_000
    inputs = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}])
    outputs = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}])
    attrs = {sc.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": "be brief"}])}
    turns, answers = conversation(inputs, outputs, attrs)
    assert [(t.role, t.parts) for t in turns] == [
        ("system", (Part("text", "be brief"),)),
        ("user", (Part("text", "hi"),)),
    ]
    assert answers[0].parts[0].text == answer


def test_a_system_prompt_already_in_the_messages_is_not_repeated() -> None:
    inputs = json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    turns, _ = conversation(inputs, None, {sc.GEN_AI_SYSTEM_INSTRUCTIONS: "be brief"})
    assert [t.role for t in turns] == ["system", "user"]


def test_json_held_in_attribute_strings_is_decoded() -> None:
    attrs = {"gen_ai.input.messages": json.dumps([{"role": "user"}]), "n": 1, "s": "[not json"}
    assert readable(attrs) == {"gen_ai.input.messages": [{"role": "user"}], "n": 1, "s": "[not json"}


def test_the_prompt_editor_grows_with_the_prompt() -> None:
    short, long = editor_height("one line"), editor_height("\n".join(["a line of a prompt"] * 20))
    assert short < long <= EDITOR_MAX_PX
    assert long >= 20 * 24  # twenty lines shown whole
