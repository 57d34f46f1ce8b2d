"""The per-trace facts the pages and the alerts share, defined once (DuckDB SQL).

Issue 14: trace status, completion, retries and cost per task were computed in the named queries and
again in the alert metrics with different rules, so the Overview counted traces whose root had not
arrived while the completion-rate alert did not. Both now aggregate spans with `TRACE_FACTS`
(GROUP BY trace_id) and judge a trace with the expressions below:

- finished: its root span arrived, or the engine reported the task's outcome. A trace that is not
  finished is in progress: it counts in no rate and no per-task figure (cost, latency), only in spend,
  tokens and calls;
- status: the engine's outcome when present, else the root span's status (or, before the root
  arrives, whether any span failed: what the trace list shows for a trace in progress);
- completed: finished, and the engine said success or (third-party traces) the trace did not fail;
- retries: agent attempts after the first; cost: usage-counted cost only.
"""

from __future__ import annotations

from typing import Final

# Aggregates over spans of one trace (GROUP BY trace_id). Needs the columns start_ns, end_ns,
# outcome, parent_span_id, status_code, span_type, attempt, cost_usd, usage_counted.
TRACE_FACTS: Final = """
    min(start_ns) AS start_ns,
    max(end_ns) AS end_ns,
    (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
    max(outcome) AS outcome,
    bool_or(parent_span_id IS NULL) AS has_root,
    coalesce(bool_or(parent_span_id IS NULL AND status_code = 'ERROR'), false) AS root_error,
    count(*) FILTER (WHERE status_code = 'ERROR') AS error_count,
    count(*) FILTER (WHERE span_type = 'agent' AND attempt > 1) AS retries,
    coalesce(sum(cost_usd) FILTER (WHERE usage_counted), 0.0) AS cost_usd"""

# Over the columns of TRACE_FACTS:
TRACE_FINISHED: Final = "(has_root OR outcome IS NOT NULL)"

TRACE_STATUS: Final = """CASE
    WHEN outcome IS NOT NULL THEN CASE WHEN outcome IN ('success', 'incomplete') THEN 'ok' ELSE 'error' END
    WHEN root_error OR (NOT has_root AND error_count > 0) THEN 'error'
    ELSE 'ok' END"""

TRACE_COMPLETED: Final = f"({TRACE_FINISHED} AND (outcome = 'success' OR (outcome IS NULL AND NOT root_error)))"
