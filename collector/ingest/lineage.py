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

Cost per span stays flat however large a trace grows: each trace keeps its children by parent
and its call spans by parent in start order, so a batch visits only the new spans, the stored
spans whose agent actually changes, and at most `MAX_CALL_CANDIDATES` candidates per call (a
crafted trace of 24,000 LLM spans once made every later span of it cost ~15 s, comparing every
pair). A whole trace is resolved only when it is loaded from the store. At most
`MAX_TRACE_SPANS` spans of one trace are held; later spans of it are still deduplicated and take
their parent's agent, but settle nothing else (counted in `Plan.capped`, logged once per trace).
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from agentdeck.engine import semconv as sc

log = logging.getLogger(__name__)

MAX_TRACE_SPANS: Final = 50_000  # spans of one trace whose lineage is settled (see the module docstring)
MAX_CALL_CANDIDATES: Final = 32  # siblings or children examined when pairing one call's two spans


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
    matched: str | None = None  # an SDK span: the instrumentor's span it gave way to (not counted)


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
    capped: int = 0  # new spans of traces past MAX_TRACE_SPANS (stored, lineage not settled)


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


def _is_sdk_call(node: Node) -> bool:
    return node.sdk_call and node.has_usage


def _is_instrumented_call(node: Node) -> bool:
    return node.span_type == "llm" and not node.sdk_call and node.has_usage


@dataclass(slots=True)
class _Trace:
    """The spans of one trace, with the indexes that keep each batch's work local."""

    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent id -> child ids
    calls: dict[str | None, list[tuple[int, str]]] = field(default_factory=dict)  # parent -> (start, id), sorted
    taken: dict[str, str] = field(default_factory=dict)  # instrumentor's span id -> the SDK span matched to it
    overflow: set[str] = field(default_factory=set)  # ids of spans past MAX_TRACE_SPANS (dedup only)
    dirty: set[str] = field(default_factory=set)  # stored spans changed when the trace was loaded
    warned: bool = False

    def __len__(self) -> int:
        return len(self.nodes) + len(self.overflow)

    def add(self, span_id: str, node: Node) -> None:
        self.nodes[span_id] = node
        if node.parent is not None:
            self.children.setdefault(node.parent, []).append(span_id)
        if _is_sdk_call(node) or _is_instrumented_call(node):
            bisect.insort(self.calls.setdefault(node.parent, []), (node.start_ns, span_id))


class TraceIndex:
    def __init__(self, max_spans: int = 200_000, max_trace_spans: int = MAX_TRACE_SPANS) -> None:
        self.max_spans = max_spans
        self.max_trace_spans = max_trace_spans
        self._traces: OrderedDict[str, _Trace] = OrderedDict()
        self._size = 0
        self.work = 0  # spans visited and candidates examined so far (what a batch costs, counted)

    def __len__(self) -> int:
        return self._size

    def missing(self, trace_ids: Iterable[str]) -> list[str]:
        return sorted({t for t in trace_ids if t not in self._traces})

    def load(self, trace_ids: Iterable[str], stored: Iterable[StoredSpan]) -> None:
        """Hold `trace_ids` (with the spans the store has for them) as authoritative."""
        loaded: dict[str, _Trace] = {}
        for trace_id in trace_ids:
            loaded[trace_id] = self._traces.setdefault(trace_id, _Trace())
        for span in stored:
            trace = self._traces.setdefault(span.trace_id, _Trace())
            loaded[span.trace_id] = trace
            if span.span_id in trace.nodes or span.span_id in trace.overflow:
                continue
            if len(trace.nodes) < self.max_trace_spans:
                trace.add(span.span_id, span.node)
            else:
                trace.overflow.add(span.span_id)
            self._size += 1
        for trace in loaded.values():  # once per load: settle the whole trace as stored
            trace.dirty |= _resolve_agents(trace.nodes)
            trace.dirty |= self._settle_calls(trace, [sid for sid, n in trace.nodes.items() if _is_sdk_call(n)])
            self.work += len(trace.nodes)

    def discard(self, trace_ids: Iterable[str]) -> None:
        """Forget traces (after a failed commit); they are reloaded from the store when next seen."""
        for trace_id in trace_ids:
            trace = self._traces.pop(trace_id, None)
            if trace is not None:
                self._size -= len(trace)

    def apply(self, rows: Sequence[SpanFacts]) -> Plan:
        """Plan a batch. Every trace of `rows` must have been loaded (see `missing`)."""
        fresh: dict[tuple[str, str], SpanFacts] = {}
        positions: list[int] = []
        duplicates = capped = 0
        touched: dict[str, list[str]] = {}  # trace id -> its new spans held in the index
        agents: dict[tuple[str, str], str | None] = {}  # spans past the cap: their agent
        for position, row in enumerate(rows):
            trace = self._traces[row.trace_id]
            key = (row.trace_id, row.span_id)
            if row.span_id in trace.nodes or row.span_id in trace.overflow or key in fresh:
                duplicates += 1
                continue
            fresh[key] = row
            positions.append(position)
            self._size += 1
            new = touched.setdefault(row.trace_id, [])
            if len(trace.nodes) < self.max_trace_spans:
                trace.add(row.span_id, node_for(row))
                new.append(row.span_id)
            else:
                capped += 1
                trace.overflow.add(row.span_id)
                parent = trace.nodes.get(row.parent_span_id) if row.parent_span_id else None
                agents[key] = row.agent_name or (parent.agent if parent is not None else None)
                if not trace.warned:
                    trace.warned = True
                    log.warning(
                        "trace %s holds more than %d spans: later spans of it are stored and deduplicated, "
                        "but their agent comes from their parent only and SDK duplicates are not settled",
                        row.trace_id,
                        self.max_trace_spans,
                    )
        changed: dict[tuple[str, str], None] = {}
        for trace_id, new in touched.items():
            self._traces.move_to_end(trace_id)
            trace = self._traces[trace_id]
            spans = trace.dirty | self._resolve_new(trace, new, set(new))
            spans |= self._settle_calls(trace, self._affected(trace, new))
            trace.dirty = set()
            for span_id in spans:
                changed[(trace_id, span_id)] = None
        agent_names: list[str | None] = []
        counted: list[bool] = []
        for key, row in fresh.items():
            node = self._traces[key[0]].nodes.get(key[1])
            agent_names.append(node.agent if node is not None else agents[key])
            counted.append(node.usage_counted if node is not None else row.usage_counted)
        updates: list[RowUpdate] = []
        for trace_id, span_id in changed:
            if (trace_id, span_id) not in fresh:
                node = self._traces[trace_id].nodes[span_id]
                updates.append(RowUpdate(trace_id, span_id, node.received_ns, node.agent, node.usage_counted))
        self._evict(keep=touched)
        return Plan(
            rows=list(fresh.values()),
            positions=positions,
            agent_names=agent_names,
            usage_counted=counted,
            updates=updates,
            duplicates=duplicates,
            capped=capped,
        )

    def _evict(self, keep: dict[str, list[str]]) -> None:
        while self._size > self.max_spans and self._traces:
            trace_id = next(iter(self._traces))
            if trace_id in keep:
                break
            self._size -= len(self._traces.pop(trace_id))

    # --- agents: new spans, then only the descendants whose agent changes -------------------------
    def _resolve_new(self, trace: _Trace, new: list[str], new_set: set[str]) -> set[str]:
        nodes = trace.nodes
        memo: dict[str, str | None] = {}
        for span_id in new:  # walk up through other new spans to a settled ancestor or an own agent
            chain: list[str] = []
            seen: set[str] = set()
            current: str | None = span_id
            value: str | None = None
            while current is not None and current in nodes and current not in seen:
                self.work += 1
                node = nodes[current]
                if node.own_agent:
                    value = node.own_agent
                    break
                if current not in new_set:
                    value = node.agent  # settled: already its nearest agent ancestor's
                    break
                if current in memo:
                    value = memo[current]
                    break
                chain.append(current)
                seen.add(current)
                current = node.parent
            for member in chain:
                memo[member] = value
                nodes[member].agent = value
        changed: set[str] = set()
        for span_id in new:  # then down from each new span, only as far as agents change
            stack = [span_id]
            while stack:
                current = stack.pop()
                value = nodes[current].agent
                for child_id in trace.children.get(current, ()):
                    self.work += 1
                    child = nodes.get(child_id)
                    if child is None or child.own_agent or child.agent == value:
                        continue
                    child.agent = value
                    changed.add(child_id)
                    stack.append(child_id)
        return changed

    # --- one call, counted once -------------------------------------------------------------------
    def _affected(self, trace: _Trace, new: list[str]) -> list[str]:
        """SDK spans whose pairing the new spans can change: new SDK spans, and those beside new
        instrumentor spans (their parent, children and overlapping siblings)."""
        nodes = trace.nodes
        affected: dict[str, None] = {}
        for span_id in new:
            node = nodes[span_id]
            if _is_sdk_call(node):
                affected[span_id] = None
            elif _is_instrumented_call(node):
                parent = nodes.get(node.parent) if node.parent is not None else None
                if parent is not None and _is_sdk_call(parent):
                    affected[node.parent] = None  # type: ignore[index]
                for other in self._near(trace, span_id, node):
                    if _is_sdk_call(nodes[other]):
                        affected[other] = None
        return list(affected)

    def _near(self, trace: _Trace, span_id: str, node: Node) -> Iterator[str]:
        """Call spans that may be the other half of `span_id`'s call: its children, then its
        siblings overlapping it in time (nearest start first), at most MAX_CALL_CANDIDATES of each."""
        children = trace.calls.get(span_id, ())
        for _, child in children[:MAX_CALL_CANDIDATES]:
            self.work += 1
            yield child
        siblings = trace.calls.get(node.parent, [])
        end = bisect.bisect_right(siblings, (node.end_ns, "\uffff"))
        for i in range(end - 1, max(-1, end - 1 - MAX_CALL_CANDIDATES), -1):
            self.work += 1
            other_id = siblings[i][1]
            other = trace.nodes[other_id]
            if other_id != span_id and other.end_ns >= node.start_ns:
                yield other_id

    def _settle_calls(self, trace: _Trace, sdk_ids: list[str]) -> set[str]:
        """Pair each of `sdk_ids` (in start order) with the first free instrumentor span of the same
        call: its parent, its child, or an overlapping sibling; an SDK span left alone is counted."""
        nodes = trace.nodes
        order = sorted(sdk_ids, key=lambda s: nodes[s].start_ns)
        for sdk_id in order:
            matched = nodes[sdk_id].matched
            if matched is not None and trace.taken.get(matched) == sdk_id:
                del trace.taken[matched]
            nodes[sdk_id].matched = None
        changed: set[str] = set()
        for sdk_id in order:
            call = nodes[sdk_id]
            parent = nodes.get(call.parent) if call.parent is not None else None
            candidates = [call.parent] if parent is not None and _is_instrumented_call(parent) else []
            for other in self._near(trace, sdk_id, call):
                if _is_instrumented_call(nodes[other]):
                    candidates.append(other)
            match = next((c for c in candidates if c is not None and c not in trace.taken), None)
            if match is not None:
                trace.taken[match] = sdk_id
                call.matched = match
            if call.usage_counted != (match is None):
                call.usage_counted = match is None
                changed.add(sdk_id)
        return changed


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
