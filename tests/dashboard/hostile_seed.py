"""Traces whose every piece of text tries to act in the browser: Markdown images and links, bare URLs,
HTML, spreadsheet formulas. All of it points at `host` (a local server standing in for a remote one),
so a test can tell whether the dashboard made the browser load or link anything from span text.
"""

from __future__ import annotations

import json
import time
from typing import Final

from agentdeck.engine import semconv as sc
from tests.dashboard.otlp_seed import MS, TraceBuilder

HOSTILE: Final = "4" * 32
FORMULA: Final = "5" * 32
FORMULA_WORKFLOW: Final = '=HYPERLINK("http://127.0.0.1:9/x","open")'


def hostile(host: str) -> str:
    """Every way span text could become markup, each aimed at `host`."""
    return (
        f'![img]({host}/img.png) [link]({host}/link) <a href="{host}/html">html</a> '
        f'<img src="{host}/tag.png"> {host}/autolink :red[red] $x^2$'
    )


def build(host: str, now_ns: int | None = None) -> list[TraceBuilder]:
    now = now_ns or time.time_ns()
    t = TraceBuilder(HOSTILE, now - 120_000 * MS)
    w = t.workflow(f"![wf]({host}/workflow.png)", 1000, "failed", error=hostile(host))
    bad = [{"timeUnixNano": str(t.t0_ns + 500 * MS), "name": f"![ev]({host}/event.png)", "attributes": []},
           {"timeUnixNano": str(t.t0_ns + 600 * MS), "name": "exception", "attributes": [
               {"key": "exception.type", "value": {"stringValue": f"[T]({host}/exception-type)"}},
               {"key": "exception.message", "value": {"stringValue": hostile(host)}}]}]  # fmt: skip
    a = t.agent(w, f"[agent]({host}/agent)", 0, 900, error=hostile(host), error_type=f"![e]({host}/type.png)",
                events=bad)  # fmt: skip
    t.llm(a, "claude-haiku-4-5", 10, 300, (100, 20), 0.001, prompt=hostile(host))
    t.span(
        f"<a href=\"{host}/axis\">axis</a> ![n]({host}/name.png)",
        a,
        400,
        100,
        {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: f"![tool]({host}/tool.png)",
         sc.GEN_AI_AGENT_NAME: f"[agent]({host}/agent)"},
        error=hostile(host),
    )  # fmt: skip
    f = TraceBuilder(FORMULA, now - 90_000 * MS)
    fw = f.workflow(FORMULA_WORKFLOW, 500, "success")
    f.llm(f.agent(fw, "-1+1", 0, 400), "claude-haiku-4-5", 10, 300, (10, 2), 0.0001, prompt=json.dumps("@SUM(1)"))
    return [t, f]
