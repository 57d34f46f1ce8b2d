"""Reading span payloads for people: chat turns, tool calls, pretty JSON, exceptions.

Producers send messages in several shapes (OTel GenAI `{role, parts:[...]}`, OpenAI-style
`{role, content}`, OpenInference `input.value` text). `parse_turns` turns any of them into `Turn`s;
what it cannot read is shown as pretty JSON or plain text, never dropped, and never clipped: a person
reading a failure needs the whole prompt and the whole answer. The system prompt may travel apart from
the messages (`gen_ai.system_instructions`); `conversation` puts it back in front.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

import streamlit as st

from agentdeck.dashboard.components import inert
from agentdeck.engine import semconv as sc

PartKind = Literal["text", "json", "tool_call", "tool_result"]
ROLE_AVATARS: Final = {
    "user": ":material/person:",
    "human": ":material/person:",
    "assistant": ":material/smart_toy:",
    "ai": ":material/smart_toy:",
    "system": ":material/settings:",
    "tool": ":material/build:",
}


@dataclass(frozen=True, slots=True)
class Part:
    kind: PartKind
    text: str  # the text, or pretty-printed JSON
    label: str | None = None  # tool name


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    parts: tuple[Part, ...]


def parse_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _text_part(value: Any) -> Part:
    if isinstance(value, str):
        inner = parse_json(value) if value.lstrip()[:1] in ("{", "[") else None
        if isinstance(inner, dict | list):
            return Part("json", pretty(inner))
        return Part("text", value)
    return Part("json", pretty(value))


def _part(raw: Any) -> Part:
    if not isinstance(raw, dict):
        return _text_part(raw)
    kind = raw.get("type")
    if kind == "text" or (kind is None and ("content" in raw or "text" in raw)):
        return _text_part(raw.get("content", raw.get("text", "")))
    if kind in ("tool_call", "function_call", "tool_use"):
        args = raw.get("arguments", raw.get("input", {}))
        args = parse_json(args) if isinstance(args, str) and parse_json(args) is not None else args
        return Part("tool_call", pretty(args), str(raw.get("name", "tool")))
    if kind in ("tool_call_response", "tool_result", "function_call_output"):
        return Part("tool_result", _text_part(raw.get("response", raw.get("content", raw))).text, raw.get("id"))
    return Part("json", pretty(raw))


def _turn(raw: Any) -> Turn:
    if not isinstance(raw, dict) or "role" not in raw:
        return Turn("message", (_text_part(raw),))
    role = str(raw["role"])
    if isinstance(raw.get("parts"), list):
        parts = tuple(_part(p) for p in raw["parts"])
    elif isinstance(raw.get("content"), list):
        parts = tuple(_part(p) for p in raw["content"])
    elif "content" in raw:
        parts = (_text_part(raw["content"]),)
    else:
        parts = (Part("json", pretty({k: v for k, v in raw.items() if k != "role"})),)
    for call in raw.get("tool_calls") or []:
        fn = call.get("function", call) if isinstance(call, dict) else {}
        parts += (_part({"type": "tool_call", "name": fn.get("name"), "arguments": fn.get("arguments", {})}),)
    return Turn(role, parts)


def parse_turns(text: str | None) -> list[Turn]:
    """Chat turns from a stored message payload (JSON of any common shape, or plain text)."""
    if text is None or text == "":
        return []
    value = parse_json(text)
    if value is None:
        return [Turn("text", (Part("text", text),))]
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value):
        return [_turn(m) for m in value]
    if isinstance(value, dict) and "role" in value:
        return [_turn(value)]
    return [Turn("data", (Part("json", pretty(value)),))]


def readable(value: Any) -> Any:
    """`value` with every string that holds a JSON object or list decoded, at any depth, so attributes
    such as `gen_ai.input.messages` read as JSON rather than as one escaped string."""
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        inner = parse_json(value)
        if isinstance(inner, dict | list):
            return readable(inner)
    return value


def system_turns(attributes: Any) -> list[Turn]:
    """The system prompt sent apart from the messages (`gen_ai.system_instructions`: a JSON list of
    parts, or plain text), as one system turn."""
    raw = attributes.get(sc.GEN_AI_SYSTEM_INSTRUCTIONS) if isinstance(attributes, dict) else None
    if raw is None or raw == "":
        return []
    value = parse_json(raw) if isinstance(raw, str) else raw
    if value is None:
        return [Turn("system", (Part("text", str(raw)),))]
    parts = value if isinstance(value, list) else [value]
    return [Turn("system", tuple(_part(p) for p in parts))]


def conversation(inputs: str | None, outputs: str | None, attributes: Any) -> tuple[list[Turn], list[Turn]]:
    """A call's whole conversation: the system prompt (unless the input messages already carry it),
    the input turns, and the answer."""
    turns = parse_turns(inputs)
    system = system_turns(attributes)
    if system and not any(t.role == "system" and t.parts == system[0].parts for t in turns):
        turns = system + turns
    return turns, parse_turns(outputs)


def render_turns(turns: list[Turn]) -> None:
    for turn in turns:
        avatar = ROLE_AVATARS.get(turn.role.lower(), ":material/notes:")
        with st.chat_message(turn.role, avatar=avatar):
            st.caption(inert(turn.role))
            for part in turn.parts:
                if part.kind == "text":
                    st.text(part.text)
                elif part.kind == "json":
                    st.code(part.text, language="json")
                elif part.kind == "tool_call":
                    st.caption(f"tool call: **{inert(part.label)}**")
                    st.code(part.text, language="json")
                else:
                    st.caption("tool result")
                    st.code(part.text, language="json")


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int | None
    attributes: dict[str, Any]

    @property
    def is_exception(self) -> bool:
        return self.name == "exception"


def parse_events(text: str | None) -> list[SpanEvent]:
    value = parse_json(text)
    if not isinstance(value, list):
        return []
    out: list[SpanEvent] = []
    for raw in value:
        if not isinstance(raw, dict):
            continue
        found = raw.get("attributes")
        attrs: dict[str, Any] = found if isinstance(found, dict) else {}
        t = raw.get("time_ns", raw.get("time_unix_nano"))
        out.append(
            SpanEvent(
                str(raw.get("name", "event")), int(t) if isinstance(t, int | str) and str(t).isdigit() else None, attrs
            )
        )
    return out
