"""`cost_breakdown`: spend by one dimension, with what retried attempts cost; `cache_savings`: per
agent, how many LLM calls the engine's semantic cache served and what they would have cost."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.queries.spec import QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import Binder, filtered_spans, trace_workflows
from agentdeck.collector.store.query_params import COMMON, Args, Param
from agentdeck.engine import semconv as sc

GROUPS: Final = {
    "workflow": "tw.wf",
    "agent": "u.agent_name",
    "model": "coalesce(u.response_model, u.request_model)",
    "service": "u.service_name",
    "provider": "u.provider",
}
_COLUMNS: Final = (
    "trace_id, span_id, parent_span_id, start_ns, span_type, agent_name, workflow_name, service_name, "
    "provider, request_model, response_model, attempt, input_tokens, output_tokens, cost_usd, usage_counted"
)


def build_cost_breakdown(args: Args, b: Binder) -> str:
    group_by = args.text("group_by")
    ctes = [filtered_spans(args, b, _COLUMNS)]
    join = ""
    if group_by == "workflow":
        ctes.append(trace_workflows())
        join = " LEFT JOIN tw USING (trace_id)"
    # A call belongs to a retried attempt when it says so itself or its parent agent span does.
    ctes.append(
        """u AS (SELECT c.*, coalesce(c.attempt, p.attempt, 1) AS eff_attempt
      FROM s AS c LEFT JOIN s AS p
        ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id AND p.span_type = 'agent'
      WHERE c.usage_counted AND (c.cost_usd IS NOT NULL OR c.input_tokens IS NOT NULL
                                 OR c.output_tokens IS NOT NULL))"""
    )
    grp = GROUPS[group_by]
    return f"""
WITH {", ".join(ctes)}
SELECT coalesce({grp}, '(none)') AS "group",
  coalesce(sum(u.cost_usd), 0.0) AS cost_usd,
  coalesce(sum(u.input_tokens), 0) AS input_tokens,
  coalesce(sum(u.output_tokens), 0) AS output_tokens,
  count(*) FILTER (WHERE u.span_type = 'llm') AS calls,
  coalesce(sum(u.cost_usd) FILTER (WHERE u.eff_attempt > 1), 0.0) AS retry_cost_usd
FROM u{join}
GROUP BY ALL ORDER BY cost_usd DESC, "group\""""


def _attr(key: str) -> str:
    return f"""json_extract_string(attributes, '$."{key}"')"""


def build_cache_savings(args: Args, b: Binder) -> str:
    hit = f"{_attr(sc.AD_CACHE_KIND)} = 'semantic'"
    saved_in = f"TRY_CAST({_attr(sc.AD_CACHE_SAVED_INPUT_TOKENS)} AS BIGINT)"
    saved_out = f"TRY_CAST({_attr(sc.AD_CACHE_SAVED_OUTPUT_TOKENS)} AS BIGINT)"
    saved_usd = f"TRY_CAST({_attr(sc.AD_CACHE_SAVED_USD)} AS DOUBLE)"
    s = filtered_spans(args, b, "agent_name, attributes", extra_where=("span_type = 'llm'",))
    return f"""
WITH {s}
SELECT coalesce(agent_name, '(none)') AS agent,
  count(*) AS calls,
  count(*) FILTER (WHERE {hit}) AS semantic_hits,
  coalesce(sum({saved_in} + {saved_out}) FILTER (WHERE {hit}), 0) AS saved_tokens,
  coalesce(sum({saved_usd}) FILTER (WHERE {hit}), 0.0) AS saved_usd
FROM s
GROUP BY ALL HAVING count(*) FILTER (WHERE {hit}) > 0 ORDER BY saved_usd DESC, agent"""


SPECS: Final = (
    QuerySpec(
        "cost_breakdown",
        "spend by a dimension, with the cost of retried attempts",
        (*COMMON, Param("group_by", "enum", "dimension", "workflow", allowed=tuple(GROUPS))),
        build_cost_breakdown,
    ),
    QuerySpec(
        "cache_savings",
        "per agent: LLM calls, those the semantic cache served, and the tokens and cost they saved",
        COMMON,
        build_cache_savings,
    ),
)
