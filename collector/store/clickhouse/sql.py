"""ClickHouse SQL building blocks shared by the named queries: `{name:Type}` binding, the span
filter (over `spans FINAL`), and the per-trace status rules, written as the DuckDB store writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from agentdeck.collector.store.clickhouse.reference import Args


@dataclass
class Binder:
    """Collects bound values; `bind` returns the `{name:Type}` placeholder to put in the SQL text."""

    values: dict[str, object] = field(default_factory=dict)

    def bind(self, name: str, value: object, typ: str) -> str:
        self.values[name] = value
        return f"{{{name}:{typ}}}"


def span_filter(args: Args, b: Binder) -> str:
    start = b.bind("start_ns", args.integer("start_ns"), "Int64")
    end = b.bind("end_ns", args.integer("end_ns"), "Int64")
    where = [f"start_ns >= {start}", f"start_ns < {end}"]
    service = args.opt_text("service")
    if service is not None:
        where.append(f"service_name = {b.bind('service', service, 'String')}")
    workflow = args.opt_text("workflow")
    if workflow is not None:
        wf = b.bind("workflow", workflow, "String")
        where.append(
            "trace_id IN (SELECT trace_id FROM spans FINAL "
            f"WHERE start_ns >= {start} AND start_ns < {end} AND workflow_name = {wf})"
        )
    return " AND ".join(where)


def quantile(q: float, expr: str, where: str | None = None) -> str:
    """DuckDB's quantile_cont (NULL over no rows, not nan), of the rows where `where` holds."""
    if where is None:
        return f"if(count() = 0, NULL, quantileExactInclusive({q})({expr}))"
    return f"if(countIf({where}) = 0, NULL, quantileExactInclusiveIf({q})({expr}, {where}))"


TRACE_STATUS: Final = """multiIf(
    outcome IS NOT NULL, if(outcome IN ('success', 'incomplete'), 'ok', 'error'),
    root_error OR (NOT has_root AND error_count > 0), 'error',
    'ok')"""
# The per-trace facts the pages and the alerts share, as the reference defines them
# (collector/store/duckdb/trace_facts.py): a trace is finished once its root arrived or the engine
# reported an outcome; rates and per-task figures count finished traces only.
TRACE_FINISHED: Final = "(has_root OR outcome IS NOT NULL)"
TRACE_COMPLETED: Final = f"({TRACE_FINISHED} AND (outcome = 'success' OR (outcome IS NULL AND NOT root_error)))"


# Per-trace numbers over the filtered spans `s` (GROUP BY trace_id), as queries/sql.py's TRACE_NUMBERS.
TRACE_NUMBERS: Final = """
    trace_id,
    min(start_ns) AS start_ns,
    max(end_ns) AS end_ns,
    (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
    max(outcome) AS outcome,
    max(parent_span_id IS NULL) AS has_root,
    max(parent_span_id IS NULL AND status_code = 'ERROR') AS root_error,
    toInt64(count()) AS span_count,
    toInt64(countIf(status_code = 'ERROR')) AS error_count,
    toInt64(countIf(span_type = 'llm' AND usage_counted)) AS llm_calls,
    toInt64(countIf(span_type = 'agent' AND attempt > 1)) AS retries,
    toInt64(sumIf(coalesce(input_tokens, 0), usage_counted)) AS input_tokens,
    toInt64(sumIf(coalesce(output_tokens, 0), usage_counted)) AS output_tokens,
    toFloat64(sumIf(coalesce(cost_usd, 0), usage_counted)) AS cost_usd,
    max(replay_of IS NOT NULL) AS is_replay"""

TRACE_NUMBER_COLUMNS: Final = (
    "trace_id, start_ns, end_ns, parent_span_id, outcome, status_code, span_type, attempt, "
    "input_tokens, output_tokens, cost_usd, usage_counted, replay_of"
)

# Per-trace text labels (GROUP BY trace_id), for the few traces a query answers.
TRACE_LABELS: Final = """
    trace_id,
    coalesce(argMinIfOrNull(name, start_ns, parent_span_id IS NULL), argMin(name, start_ns)) AS root_name,
    argMinIfOrNull(workflow_name, start_ns, workflow_name IS NOT NULL) AS workflow_name,
    coalesce(argMinIfOrNull(service_name, start_ns, parent_span_id IS NULL),
             argMin(service_name, start_ns)) AS service_name,
    argMinIfOrNull(thread_id, start_ns, thread_id IS NOT NULL) AS thread_id,
    argMinIfOrNull(replay_of, start_ns, replay_of IS NOT NULL) AS replay_of,
    arraySort(groupUniqArray(agent_name)) AS agent_list"""

MODEL: Final = "coalesce(response_model, request_model)"


def filtered_spans(args: Args, b: Binder, columns: str, *, name: str = "s", extra_where: tuple[str, ...] = ()) -> str:
    """CTE `name`: the columns of the spans `span_filter` selects."""
    where = " AND ".join((span_filter(args, b), *extra_where))
    return f"{name} AS (SELECT {columns} FROM spans FINAL WHERE {where})"


def trace_workflows(name: str = "tw", source: str = "s") -> str:
    """CTE `name`: (trace_id, wf) — each trace's workflow, from its earliest span that names one."""
    return (
        f"{name} AS (SELECT trace_id, argMin(workflow_name, start_ns) AS wf FROM {source} "
        "WHERE workflow_name IS NOT NULL GROUP BY trace_id)"
    )
