"""SQL building blocks shared by the named queries.

Only fixed text from this package goes into SQL; every value arrives through `Binder.bind` as a
DuckDB named parameter. The filtered-spans CTE puts the start_ns range first so DuckDB can skip
row groups by their min/max before reading anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from agentdeck.collector.store.duckdb.trace_facts import TRACE_FACTS
from agentdeck.collector.store.query_params import Args

# Per-trace numbers over the filtered spans `s` (GROUP BY trace_id): cheap aggregates only, so
# filtering and sorting hundreds of thousands of traces stays fast. Text labels come from
# TRACE_LABELS, computed afterwards for the traces that are answered.
TRACE_NUMBERS: Final = f"""
    trace_id,{TRACE_FACTS},
    count(*) AS span_count,
    count(*) FILTER (WHERE span_type = 'llm' AND usage_counted) AS llm_calls,
    coalesce(sum(input_tokens) FILTER (WHERE usage_counted), 0) AS input_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE usage_counted), 0) AS output_tokens,
    bool_or(replay_of IS NOT NULL) AS is_replay"""

TRACE_NUMBER_COLUMNS: Final = (
    "trace_id, start_ns, end_ns, parent_span_id, outcome, status_code, span_type, attempt, "
    "input_tokens, output_tokens, cost_usd, usage_counted, replay_of"
)

# Per-trace text labels (GROUP BY trace_id), for the few traces a query answers.
TRACE_LABELS: Final = """
    trace_id,
    coalesce(arg_min(name, start_ns) FILTER (WHERE parent_span_id IS NULL), arg_min(name, start_ns)) AS root_name,
    arg_min(workflow_name, start_ns) FILTER (WHERE workflow_name IS NOT NULL) AS workflow_name,
    coalesce(arg_min(service_name, start_ns) FILTER (WHERE parent_span_id IS NULL),
             arg_min(service_name, start_ns)) AS service_name,
    arg_min(thread_id, start_ns) FILTER (WHERE thread_id IS NOT NULL) AS thread_id,
    arg_min(replay_of, start_ns) FILTER (WHERE replay_of IS NOT NULL) AS replay_of,
    list_sort(list_distinct(list(agent_name))) AS agent_list"""

# The model a span used: what the provider answered with, else what was asked for.
MODEL: Final = "coalesce(response_model, request_model)"


@dataclass
class Binder:
    """Collects bound values; `bind` returns the placeholder to put in the SQL text."""

    values: dict[str, object] = field(default_factory=dict)

    def bind(self, name: str, value: object) -> str:
        self.values[name] = value
        return f"${name}"


def span_filter(args: Args, b: Binder, extra_where: Sequence[str] = ()) -> str:
    """WHERE text: spans in the time range, of the service, of traces of the workflow."""
    start = b.bind("start_ns", args.integer("start_ns"))
    end = b.bind("end_ns", args.integer("end_ns"))
    where = [f"start_ns >= {start}", f"start_ns < {end}"]
    service = args.opt_text("service")
    if service is not None:
        where.append(f"service_name = {b.bind('service', service)}")
    workflow = args.opt_text("workflow")
    if workflow is not None:
        wf = b.bind("workflow", workflow)
        where.append(
            "trace_id IN (SELECT trace_id FROM spans "
            f"WHERE start_ns >= {start} AND start_ns < {end} AND workflow_name = {wf})"
        )
    where.extend(extra_where)
    return " AND ".join(where)


def filtered_spans(args: Args, b: Binder, columns: str, *, name: str = "s", extra_where: Sequence[str] = ()) -> str:
    """CTE `name`: the columns of the spans `span_filter` selects."""
    return f"{name} AS (SELECT {columns} FROM spans WHERE {span_filter(args, b, extra_where)})"


def trace_workflows(name: str = "tw", source: str = "s") -> str:
    """CTE `name`: (trace_id, wf) — each trace's workflow, from its earliest span that names one."""
    return (
        f"{name} AS (SELECT trace_id, arg_min(workflow_name, start_ns) AS wf FROM {source} "
        "WHERE workflow_name IS NOT NULL GROUP BY trace_id)"
    )


def bucket_width_ns(args: Args, buckets: int) -> int:
    span = args.integer("end_ns") - args.integer("start_ns")
    return max(-(-span // buckets), 1)
