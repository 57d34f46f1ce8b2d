"""`facets`: the values the filter pickers offer, with how many spans carry each."""

from __future__ import annotations

from typing import Final

from agentdeck.collector.store.duckdb.queries.spec import QuerySpec
from agentdeck.collector.store.duckdb.queries.sql import MODEL, Binder, filtered_spans
from agentdeck.collector.store.query_params import COMMON, Args

PER_DIMENSION: Final = 200
DIMENSIONS: Final = {
    "workflow": "workflow_name",
    "service": "service_name",
    "agent": "agent_name",
    "model": MODEL,
}


def build_facets(args: Args, b: Binder) -> str:
    spans = filtered_spans(args, b, "workflow_name, service_name, agent_name, request_model, response_model")
    unions = "\n  UNION ALL ".join(
        f"SELECT '{dim}' AS dimension, {expr} AS value, count(*) AS spans FROM s WHERE {expr} IS NOT NULL GROUP BY ALL"
        for dim, expr in DIMENSIONS.items()
    )
    per = b.bind("per_dimension", PER_DIMENSION)
    return f"""
WITH {spans},
v AS ({unions}),
r AS (SELECT *, row_number() OVER (PARTITION BY dimension ORDER BY spans DESC, value) AS rank FROM v)
SELECT dimension, value, spans FROM r WHERE rank <= {per} ORDER BY dimension, spans DESC, value"""


SPECS: Final = (
    QuerySpec("facets", "values for the filter pickers (workflow, service, agent, model)", COMMON, build_facets),
)
