"""The dashboard's pure parts: number formats, agent colours, message parsing, span tree, graph layout."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agentdeck.dashboard import agent_graph, data, messages, theme, trace_detail


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "$0.00"), (0.0000042, "$0.0000042"), (0.00003, "$0.000030"), (0.0003, "$0.0003"), (0.0042, "$0.0042"),
     (0.12345, "$0.1235"), (12.345, "$12.35"), (1234.5, "$1,234"), (-0.00005, "-$0.000050"), (None, "n/a"),
     (float("nan"), "n/a")],
)  # fmt: skip
def test_dollars_keep_sensible_precision(value: float | None, text: str) -> None:
    assert theme.usd(value) == text


def test_ratios_read_with_a_times_sign_and_alert_values_in_their_unit() -> None:
    from agentdeck.dashboard import alert_banner

    times = theme.TIMES
    assert theme.ratio(1.2) == f"1.20{times}" and theme.ratio(None) == "n/a"
    assert alert_banner.alert_value("budget_burn", 1.5) == f"1.50{times}"
    assert alert_banner.alert_value("retry_rate", 0.2) == "20.0%"
    assert alert_banner.alert_value("spend", 0.0003) == "$0.0003"
    assert alert_banner.alert_value("p95_latency_ms", 31_200) == "31.2 s"
    assert alert_banner.alert_value("runaway_loop", 9.0) == "9"


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0 ms"), (0.5, "0.50 ms"), (850, "850 ms"), (2400, "2.4 s"), (192_000, "3m 12s"), (3_900_000, "1h 05m")],
)
def test_durations_read_in_the_right_unit(ms: float, text: str) -> None:
    assert theme.duration(ms) == text


def test_tokens_and_percentages() -> None:
    assert (theme.tokens(1234), theme.tokens(12_300), theme.tokens(4_500_000)) == ("1,234", "12.3k", "4.5M")
    assert theme.pct(0.1234) == "12.3%"


def test_each_known_agent_gets_its_own_stable_colour() -> None:
    names = [f"agent-{i}" for i in range(len(theme.AGENT_PALETTE))]
    theme.assign_colors("agent", names)
    colours = [theme.agent_color(n) for n in names]
    assert len(set(colours)) == len(names)
    theme.assign_colors("agent", list(reversed(names)))  # order of discovery does not matter
    assert [theme.agent_color(n) for n in names] == colours
    assert theme.agent_color(None) == theme.MUTED


def test_otel_genai_messages_become_chat_turns() -> None:
    payload = json.dumps(
        [
            {"role": "user", "parts": [{"type": "text", "content": "refund please"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "name": "lookup", "arguments": {"order": 8812}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "response": '{"status": "shipped"}'}]},
        ]
    )
    turns = messages.parse_turns(payload)
    assert [t.role for t in turns] == ["user", "assistant", "tool"]
    assert turns[0].parts[0] == messages.Part("text", "refund please")
    call = turns[1].parts[0]
    assert (call.kind, call.label, json.loads(call.text)) == ("tool_call", "lookup", {"order": 8812})
    assert json.loads(turns[2].parts[0].text) == {"status": "shipped"}


def test_openai_style_json_text_and_plain_text_are_all_readable() -> None:
    (turn,) = messages.parse_turns('[{"role": "assistant", "content": "{\\"a\\": 1}"}]')
    assert turn.parts[0].kind == "json" and json.loads(turn.parts[0].text) == {"a": 1}
    (turn,) = messages.parse_turns("just some text, not JSON")
    assert turn.parts[0] == messages.Part("text", "just some text, not JSON")
    (turn,) = messages.parse_turns('{"query": "q", "k": 3}')
    assert turn.role == "data" and json.loads(turn.parts[0].text) == {"query": "q", "k": 3}
    assert messages.parse_turns(None) == [] and messages.parse_turns("") == []


def test_exception_events_are_recognised() -> None:
    events = messages.parse_events(
        json.dumps(
            [
                {"name": "exception", "time_ns": 5, "attributes": {"exception.type": "TimeoutError"}},
                {"name": "retry", "time_ns": "7", "attributes": None},
            ]
        )
    )
    assert [(e.name, e.time_ns, e.is_exception) for e in events] == [("exception", 5, True), ("retry", 7, False)]
    assert messages.parse_events("not json") == []


def test_span_tree_orders_parents_first_and_keeps_orphans() -> None:
    spans = pd.DataFrame(
        {
            "span_id": ["c", "a", "b", "orphan", "d"],
            "parent_span_id": ["a", None, "a", "missing-parent", "b"],
            "start_ns": [30, 10, 20, 15, 25],
        }
    )
    order, depth = trace_detail.span_order(spans)
    assert [spans["span_id"].iloc[p] for p in order] == ["a", "b", "d", "c", "orphan"]
    assert depth == [0, 1, 2, 1, 0]


def test_graph_layout_puts_agents_in_layers_and_end_last() -> None:
    edges = pd.DataFrame(
        {
            "source": ["__start__", "researcher", "writer", "researcher"],
            "target": ["researcher", "writer", "researcher", "__end__"],
            "count": [3, 3, 2, 3],
        }
    )
    lay = agent_graph.layered(edges)
    assert lay.layer == {"__start__": 0, "researcher": 1, "writer": 2, "__end__": 3}


def test_settings_come_from_the_environment_with_defaults() -> None:
    s = data.settings({})
    assert (s.collector_url, s.token, s.refresh_s) == ("http://127.0.0.1:4318", None, 10.0)
    s = data.settings(
        {"AGENTDECK_COLLECTOR_URL": "http://c:9/", "AGENTDECK_TOKEN": "t", "AGENTDECK_DASHBOARD_REFRESH_S": "0"}
    )
    assert (s.collector_url, s.token, s.refresh_s) == ("http://c:9", "t", 0.0)
