"""`transitions`: the observed agent graph of a workflow, as counted handoffs.

Within each trace, agent steps (first attempts; retries are not handoffs) are ordered by start time
and each consecutive pair is a transition; `__start__` and `__end__` mark a trace's first and last.
Loops (a critic sending work back, an agent re-invoked) show as repeated or self edges.
"""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.queries.metrics import WORKFLOW_REQUIRED
from agentdeck.collector.store.duckdb.queries.spec import QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import Binder, filtered_spans
from agentdeck.collector.store.query_params import END_NS, SERVICE, START_NS, Args

START: Final = "__start__"
END: Final = "__end__"


def build_transitions(args: Args, b: Binder) -> str:
    spans = filtered_spans(
        args,
        b,
        "trace_id, span_id, start_ns, coalesce(agent_name, name) AS agent",
        extra_where=["span_type = 'agent'", "coalesce(attempt, 1) = 1"],
    )
    return f"""
WITH {spans},
seq AS (SELECT agent,
    lag(agent) OVER w AS prev,
    lead(agent) OVER w AS next
  FROM s WINDOW w AS (PARTITION BY trace_id ORDER BY start_ns, span_id)),
edges AS (
  SELECT coalesce(prev, '{START}') AS source, agent AS target FROM seq
  UNION ALL
  SELECT agent AS source, '{END}' AS target FROM seq WHERE next IS NULL)
SELECT source, target, count(*) AS count FROM edges GROUP BY ALL ORDER BY count DESC, source, target"""


SPECS: Final = (
    QuerySpec(
        "transitions",
        "agent-to-agent handoffs observed in a workflow's runs (loops included)",
        (START_NS, END_NS, WORKFLOW_REQUIRED, SERVICE),
        build_transitions,
    ),
)
