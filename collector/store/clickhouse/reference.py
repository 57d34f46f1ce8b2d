"""What the ClickHouse store takes from the reference (DuckDB) store rather than define twice: the
named queries' parameter specs and parsing, their allow-listed vocabularies (sort columns, status
filters, groupings, facet dimensions, graph markers), and the Arrow schema of span rows. One module, so
the ClickHouse side depends on the reference's layout in one place."""

from __future__ import annotations

from agentdeck.collector.store.catalogue import TRUNCATED_KEY
from agentdeck.collector.store.duckdb.queries.costs import GROUPS as COST_GROUPS
from agentdeck.collector.store.duckdb.queries.facets import DIMENSIONS, PER_DIMENSION
from agentdeck.collector.store.duckdb.queries.graph import END, START
from agentdeck.collector.store.duckdb.queries.sql import bucket_width_ns
from agentdeck.collector.store.duckdb.queries.timeseries import _COLUMNS as SERIES_COLUMNS
from agentdeck.collector.store.duckdb.queries.traces import ORDER_COLUMNS, PAYLOAD_COLUMNS, STATUS_FILTERS
from agentdeck.collector.store.duckdb.query import QUERIES
from agentdeck.collector.store.query_params import Args, QueryError, parse_params
from agentdeck.collector.store.schema import ARROW_SCHEMA

__all__ = [
    "ARROW_SCHEMA",
    "COST_GROUPS",
    "DIMENSIONS",
    "END",
    "ORDER_COLUMNS",
    "PAYLOAD_COLUMNS",
    "PER_DIMENSION",
    "QUERIES",
    "SERIES_COLUMNS",
    "START",
    "STATUS_FILTERS",
    "TRUNCATED_KEY",
    "Args",
    "QueryError",
    "bucket_width_ns",
    "parse_params",
]
