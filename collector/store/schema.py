"""The `spans` table: one normalized row per span, nothing a producer sent is dropped.

This module is the single definition of the table. The writer creates it from `COLUMNS`, the
normalizer fills `SpanRow`, and the query module selects from it by these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NamedTuple, cast

import pyarrow as pa

if TYPE_CHECKING:
    from agentdeck.collector.ingest.lineage import Plan

# Bump when the table changes; the store migrates older files forward (see collector/store/duckdb/migrations.py).
SCHEMA_VERSION: Final = 2

SPAN_TYPES: Final = ("workflow", "agent", "llm", "tool", "task", "retriever", "embedding", "other")
CONVENTIONS: Final = ("otel_genai", "openinference", "openllmetry", "agentdeck", "unknown")
COST_SOURCES: Final = ("reported", "computed", "unknown-model")
STATUS_CODES: Final = ("UNSET", "OK", "ERROR")


class SpanRow(NamedTuple):
    """A row of `spans`, immutable (a NamedTuple: built once per span on the ingest hot path, ~2.5x
    cheaper than a frozen dataclass, and already the tuple Arrow columns are made from)."""

    # identity and timing
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    parent_span_id: str | None
    name: str
    kind: str  # INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER | UNSPECIFIED
    start_ns: int
    end_ns: int
    duration_ms: float
    status_code: str  # STATUS_CODES
    status_message: str | None
    error_type: str | None
    service_name: str | None
    scope_name: str | None
    # meaning
    convention: str  # CONVENTIONS
    span_type: str  # SPAN_TYPES
    operation_name: str | None
    provider: str | None
    request_model: str | None
    response_model: str | None
    agent_name: str | None  # own, or nearest agent ancestor (filled in late if parents arrive late)
    workflow_name: str | None
    conversation_id: str | None
    user_id: str | None
    tool_name: str | None
    tool_call_id: str | None
    # usage (input_tokens includes cache read/write tokens, as in OTel GenAI)
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None
    cost_source: str | None  # COST_SOURCES, None when the span has no usage
    usage_counted: bool  # False when another span already counts this call's tokens and cost
    # engine extras
    attempt: int | None
    retry_reason: str | None
    thread_id: str | None
    checkpoint_id: str | None
    node: str | None
    step: int | None
    task_id: str | None
    replay_of: str | None
    outcome: str | None  # success | incomplete | dead_letter | failed (workflow spans of our engine)
    # payload, as JSON text
    input_messages: str | None
    output_messages: str | None
    attributes: str  # every span attribute as sent
    resource_attributes: str
    events: str
    links: str
    received_ns: int  # when the collector accepted it


_DUCKDB_TYPES: Final[dict[str, str]] = {
    "str": "VARCHAR",
    "str | None": "VARCHAR",
    "int": "BIGINT",
    "int | None": "BIGINT",
    "float": "DOUBLE",
    "float | None": "DOUBLE",
    "bool": "BOOLEAN",
}


def field_types() -> dict[str, str]:
    """SpanRow's field names with their annotations as written (e.g. "str | None")."""
    return {name: getattr(typ, "__forward_arg__", str(typ)) for name, typ in SpanRow.__annotations__.items()}


COLUMNS: Final[tuple[tuple[str, str], ...]] = tuple((name, _DUCKDB_TYPES[typ]) for name, typ in field_types().items())
COLUMN_NAMES: Final[tuple[str, ...]] = tuple(name for name, _ in COLUMNS)


# The rows as Arrow (how every store takes a batch).
_ARROW_TYPES: Final = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
ARROW_SCHEMA: Final = pa.schema([(name, _ARROW_TYPES[typ]) for name, typ in COLUMNS])


def rows_to_arrow(rows: Sequence[SpanRow]) -> pa.Table:
    columns = zip(*rows, strict=True) if rows else ([] for _ in COLUMN_NAMES)  # a SpanRow is a tuple
    arrays = [pa.array(col, type=ARROW_SCHEMA.field(i).type) for i, col in enumerate(columns)]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def planned_rows(plan: Plan, source: pa.Table | None = None) -> pa.Table:
    """The new rows of a writer's plan as Arrow, with their resolved agent and usage counting.
    `source`, when given, is the Arrow table of every row the plan was made from (taken by
    `plan.positions`); without it the plan's rows must be `SpanRow`s."""
    if source is None:
        table = rows_to_arrow(cast(Sequence[SpanRow], plan.rows))
    elif len(plan.positions) == source.num_rows:
        table = source
    else:
        table = source.take(pa.array(plan.positions, type=pa.int64()))
    for name, values, typ in (
        ("agent_name", plan.agent_names, pa.string()),
        ("usage_counted", plan.usage_counted, pa.bool_()),
    ):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, table.schema.field(i), pa.array(values, type=typ))
    return table
