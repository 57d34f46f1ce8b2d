"""What a span inherits from the rest of its trace, settled whatever order spans arrive in.

The writer keeps a `TraceIndex` of recent traces (every stored span's parent, own agent and usage
facts). Before a batch is applied, traces missing from the index are loaded from the store, so
the index is authoritative for every trace it holds. `apply()` then

- drops spans already stored or repeated in the batch (resends: unique on (trace_id, span_id)),
- gives each span the agent of its nearest agent ancestor, and re-resolves stored descendants
  when a parent lands after its children (those become row updates),
- marks the anthropic SDK's own `anthropic.messages.create` span as not counted
  (`usage_counted=False`) when an instrumentor's LLM span for the same call (its parent, its
  child, or an overlapping sibling) reports usage, whichever of the two arrives first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agentdeck.engine import semconv as sc


class SpanFacts(Protocol):
    """What lineage (and the ingest metrics) read of a normalized span: `SpanRow` has all of it,
    and so does the lighter `RowFacts` a decode worker sends with its Arrow table."""

    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def scope_name(self) -> str | None: ...
    @property
    def span_type(self) -> str: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def usage_counted(self) -> bool: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def end_ns(self) -> int: ...
    @property
    def received_ns(self) -> int: ...
    @property
    def service_name(self) -> str | None: ...
    @property
    def convention(self) -> str: ...


@dataclass(slots=True)
class Node:
    parent: str | None
    own_agent: str | None
    agent: str | None  # as stored (or about to be)
    span_type: str
    sdk_call: bool  # the anthropic SDK's own span for a call
    has_usage: bool
    usage_counted: bool
    start_ns: int
    end_ns: int
    received_ns: int  # locates the stored row cheaply (insertion order; DuckDB zonemaps prune on it)


@dataclass(frozen=True, slots=True)
class StoredSpan:
    """What the store returns for a span of a trace being loaded into the index."""

    trace_id: str
    span_id: str
    node: Node


@dataclass(frozen=True, slots=True)
class RowUpdate:
    trace_id: str
    span_id: str
    received_ns: int
    agent_name: str | None
    usage_counted: bool


@dataclass(frozen=True, slots=True)
class Plan:
    rows: list[SpanFacts]  # new rows to insert, as normalized
    positions: list[int]  # per row of `rows`: its index in the sequence given to `apply`
    agent_names: list[str | None]  # per row of `rows`: the resolved agent (stored instead of row.agent_name)
    usage_counted: list[bool]  # per row of `rows`: stored instead of row.usage_counted
    updates: list[RowUpdate]  # stored rows whose agent or usage_counted changed
    duplicates: int


def node_for(row: SpanFacts) -> Node:
    own = row.agent_name
    return Node(
        parent=row.parent_span_id,
        own_agent=own,
        agent=own,
        span_type=row.span_type,
        sdk_call=row.scope_name == sc.ANTHROPIC_SDK_SCOPE and row.name == sc.ANTHROPIC_SDK_SPAN_NAME,
        has_usage=row.input_tokens is not None or row.output_tokens is not None,
        usage_counted=row.usage_counted,
        start_ns=row.start_ns,
        end_ns=row.end_ns,
        received_ns=row.received_ns,
    )


class TraceIndex:
    def __init__(self, max_spans: int = 200_000) -> None:
        self.max_spans = max_spans
        self._traces: OrderedDict[str, dict[str, Node]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def missing(self, trace_ids: Iterable[str]) -> list[str]:
        return sorted({t for t in trace_ids if t not in self._traces})

    def load(self, trace_ids: Iterable[str], stored: Iterable[StoredSpan]) -> None:
        """Hold `trace_ids` (with the spans the store has for them) as authoritative."""
        for trace_id in trace_ids:
            self._traces.setdefault(trace_id, {})
        for span in stored:
            nodes = self._traces.setdefault(span.trace_id, {})
            if span.span_id not in nodes:
                nodes[span.span_id] = span.node
                self._size += 1

    def discard(self, trace_ids: Iterable[str]) -> None:
        """Forget traces (after a failed commit); they are reloaded from the store when next seen."""
        for trace_id in trace_ids:
            nodes = self._traces.pop(trace_id, None)
            if nodes is not None:
                self._size -= len(nodes)

    def apply(self, rows: Sequence[SpanFacts]) -> Plan:
        """Plan a batch. Every trace of `rows` must have been loaded (see `missing`)."""
        fresh: dict[tuple[str, str], SpanFacts] = {}
        positions: list[int] = []
        duplicates = 0
        touched: dict[str, None] = {}
        for position, row in enumerate(rows):
            nodes = self._traces[row.trace_id]
            key = (row.trace_id, row.span_id)
            if row.span_id in nodes or key in fresh:
                duplicates += 1
                continue
            fresh[key] = row
            positions.append(position)
            nodes[row.span_id] = node_for(row)
            self._size += 1
            touched[row.trace_id] = None
        updates: list[RowUpdate] = []
        changed: dict[tuple[str, str], None] = {}
        for trace_id in touched:
            self._traces.move_to_end(trace_id)
            nodes = self._traces[trace_id]
            for span_id in _resolve_agents(nodes) | _settle_duplicate_calls(nodes):
                changed[(trace_id, span_id)] = None
        agents: list[str | None] = []
        counted: list[bool] = []
        for trace_id, span_id in fresh:
            node = self._traces[trace_id][span_id]
            agents.append(node.agent)
            counted.append(node.usage_counted)
        for trace_id, span_id in changed:
            if (trace_id, span_id) not in fresh:
                node = self._traces[trace_id][span_id]
                updates.append(RowUpdate(trace_id, span_id, node.received_ns, node.agent, node.usage_counted))
        self._evict(keep=touched)
        return Plan(
            rows=list(fresh.values()),
            positions=positions,
            agent_names=agents,
            usage_counted=counted,
            updates=updates,
            duplicates=duplicates,
        )

    def _evict(self, keep: dict[str, None]) -> None:
        while self._size > self.max_spans and self._traces:
            trace_id = next(iter(self._traces))
            if trace_id in keep:
                break
            self._size -= len(self._traces.pop(trace_id))


def _resolve_agents(nodes: dict[str, Node]) -> set[str]:
    """Set each node's agent to its own or its nearest agent ancestor's; return the ids that changed."""
    resolved: dict[str, str | None] = {}
    changed: set[str] = set()
    for span_id in nodes:
        chain: list[str] = []
        current: str | None = span_id
        value: str | None = None
        seen: set[str] = set()
        while current is not None and current in nodes and current not in seen:
            if current in resolved:
                value = resolved[current]
                break
            node = nodes[current]
            seen.add(current)
            chain.append(current)
            if node.own_agent:
                value = node.own_agent
                break
            current = node.parent
        for member in chain:
            resolved[member] = value
            node = nodes[member]
            if node.agent != value:
                node.agent = value
                changed.add(member)
    return changed


def _settle_duplicate_calls(nodes: dict[str, Node]) -> set[str]:
    """Count each call once: the SDK's span is not counted when an instrumentor's span has the usage."""
    sdk = sorted((sid for sid, n in nodes.items() if n.sdk_call and n.has_usage), key=lambda s: nodes[s].start_ns)
    if not sdk:
        return set()
    instrumented = [sid for sid, n in nodes.items() if n.span_type == "llm" and not n.sdk_call and n.has_usage]
    taken: set[str] = set()
    changed: set[str] = set()
    for sdk_id in sdk:
        call = nodes[sdk_id]
        candidates = (s for s in instrumented if s not in taken and _same_call(sdk_id, call, s, nodes[s]))
        match = next(candidates, None)
        counted = match is None
        if match is not None:
            taken.add(match)
        if call.usage_counted != counted:
            call.usage_counted = counted
            changed.add(sdk_id)
    return changed


def _same_call(sdk_id: str, sdk: Node, other_id: str, other: Node) -> bool:
    if sdk.parent == other_id or other.parent == sdk_id:
        return True
    return sdk.parent == other.parent and sdk.start_ns <= other.end_ns and other.start_ns <= sdk.end_ns
