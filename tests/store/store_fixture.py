"""The conformance suite's fixture and stores (imported by conftest.py and the store tests).

`STORES` lists the stores under test; `open_store(kind, folder)` opens an empty one. The fixture (the
sample traces, plus third-party convention spans: OpenInference, OpenLLMetry, OTel GenAI with the
anthropic SDK's duplicate span, a late parent, and tasks whose root has not arrived) goes through
the real ingest writer, so lineage and dedup run through the seam too.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentdeck.collector.ingest.decode import decode_protobuf
from agentdeck.collector.ingest.normalize import normalize
from agentdeck.collector.ingest.writer import Writer
from agentdeck.collector.self_metrics import Metrics
from agentdeck.collector.store.base import SpanStore, StoreSession
from agentdeck.collector.store.schema import SpanRow
from agentdeck.engine.pricing import load_prices
from tests.collector.otlp_payloads import S, new_span_id, new_trace_id, request

STORES = ("duckdb", "chdb")
SAMPLES = Path(__file__).resolve().parents[2] / "sample_traces"
MIN_NS = 60_000_000_000


def open_store(kind: str, folder: Path) -> SpanStore:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "duckdb":
        from agentdeck.collector.store.duckdb.span_store import DuckDBStore

        return DuckDBStore(folder / "spans.duckdb")
    if kind == "chdb":
        pytest.importorskip("chdb")
        from agentdeck.collector.store.clickhouse import open_store as open_clickhouse
        from agentdeck.collector.store.url import parse_store_url

        return open_clickhouse(parse_store_url(f"chdb://{folder / 'ch'}"))
    raise AssertionError(f"no store {kind!r} in the conformance suite")


@dataclass(frozen=True)
class Loaded:
    """A store holding the fixture, and where its data lies in time."""

    kind: str
    store: SpanStore
    session: StoreSession
    start_ns: int
    end_ns: int
    rootless: tuple[str, ...]  # traces whose root span has not arrived
    genai: str  # an OTel GenAI trace whose parent arrived late, with the anthropic SDK's duplicate span

    @property
    def range(self) -> dict[str, str]:
        return {"start_ns": str(self.start_ns), "end_ns": str(self.end_ns)}


def _rows(body: bytes, received_ns: int) -> list[SpanRow]:
    prices = load_prices()
    return [normalize(s, prices, received_ns) for s in decode_protobuf(body).spans]


def third_party(t0: int) -> tuple[list[bytes], list[bytes], tuple[str, ...], str]:
    """Third-party convention traces near `t0`: (first requests, later requests, rootless trace ids).
    The later requests hold a parent that arrives after its child."""
    oi = new_trace_id()
    oi_root, oi_llm = new_span_id(), new_span_id()
    openinference = request(
        [
            S(
                "LangGraph",
                oi,
                oi_root,
                attrs={"openinference.span.kind": "CHAIN", "input.value": '{"q": "x"}'},
                start_ns=t0,
                duration_ns=3_000_000_000,
            ),
            S(
                "ChatAnthropic",
                oi,
                oi_llm,
                parent=oi_root,
                start_ns=t0 + 1,
                duration_ns=900_000_000,
                attrs={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "claude-sonnet-4-5",
                    "llm.token_count.prompt": 1200,
                    "llm.token_count.completion": 300,
                },
            ),
        ],
        service="rag",
        scope="openinference.instrumentation.langchain",
    )
    tl = new_trace_id()
    tl_root = new_span_id()
    openllmetry = request(
        [
            S(
                "plan.workflow",
                tl,
                tl_root,
                attrs={"traceloop.span.kind": "workflow", "traceloop.entity.name": "plan"},
                start_ns=t0 + 5,
                duration_ns=2_000_000_000,
            ),
            S(
                "anthropic.chat",
                tl,
                new_span_id(),
                parent=tl_root,
                start_ns=t0 + 6,
                duration_ns=1_500_000_000,
                status_code=2,
                status_message="overloaded",
                attrs={
                    "llm.request.type": "chat",
                    "gen_ai.system": "Anthropic",
                    "gen_ai.request.model": "claude-haiku-4-5",
                    "gen_ai.usage.prompt_tokens": 400,
                    "gen_ai.usage.completion_tokens": 80,
                },
            ),
        ],
        service="planner",
        scope="opentelemetry.instrumentation.anthropic",
    )
    gg = new_trace_id()
    gg_root, gg_agent, gg_chat = new_span_id(), new_span_id(), new_span_id()
    usage = {
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "gen_ai.request.model": "claude-sonnet-4-5",
    }
    genai_child = request(  # the child and the SDK's duplicate arrive before their agent parent
        [
            S(
                "chat claude-sonnet-4-5",
                gg,
                gg_chat,
                parent=gg_agent,
                start_ns=t0 + 20,
                attrs={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", **usage},
            )
        ],
        service="bot",
        scope="opentelemetry.instrumentation.anthropic",
    )
    sdk_dup = request(
        [
            S(
                "anthropic.messages.create",
                gg,
                new_span_id(),
                parent=gg_agent,  # beside the instrumentor's span, inside it in time
                start_ns=t0 + 20 + 1000,
                duration_ns=250_000_000 - 2000,
                attrs={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", **usage},
            )
        ],
        service="bot",
        scope="com.anthropic.sdk.python",
    )
    genai_parent = request(
        [
            S(
                "invoke_workflow support",
                gg,
                gg_root,
                start_ns=t0 + 10,
                duration_ns=5_000_000_000,
                attrs={"gen_ai.operation.name": "invoke_workflow"},
            ),
            S(
                "invoke_agent planner",
                gg,
                gg_agent,
                parent=gg_root,
                start_ns=t0 + 15,
                duration_ns=4_000_000_000,
                attrs={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
            ),
        ],
        service="bot",
    )
    # Two tasks still in progress: children only, one of them failed.
    rootless: list[str] = []
    pending = []
    for failed in (False, True):
        t = new_trace_id()
        rootless.append(t)
        pending.append(
            request(
                [
                    S(
                        "chat claude-haiku-4-5",
                        t,
                        new_span_id(),
                        parent=new_span_id(),
                        start_ns=t0 + 30,
                        status_code=2 if failed else 0,
                        attrs={
                            "gen_ai.operation.name": "chat",
                            "gen_ai.request.model": "claude-haiku-4-5",
                            "gen_ai.usage.input_tokens": 50,
                            "gen_ai.usage.output_tokens": 5,
                        },
                    )
                ],
                service="bot",
            )
        )
    first = [r.SerializeToString() for r in (openinference, openllmetry, genai_child, sdk_dup, *pending)]
    return first, [genai_parent.SerializeToString()], tuple(rootless), gg


def sample_bodies() -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in sorted(SAMPLES.glob("*.pb.gz"))]


def load(store: SpanStore, bodies: list[list[bytes]]) -> None:
    """Each group of bodies through the real writer, one group after the other (later groups hold
    late parents)."""
    writer = Writer(store, Metrics(), queue_max_spans=1_000_000, batch_max_spans=5_000, flush_interval_ms=1)
    writer.start()
    try:
        for n, group in enumerate(bodies):
            futures = [writer.submit(_rows(body, 1_000 + n)) for body in group]
            for f in futures:
                f.result(timeout=60)
    finally:
        writer.stop()


@dataclass(frozen=True)
class Fixture:
    groups: list[list[bytes]]  # loaded one after the other
    start_ns: int
    end_ns: int
    rootless: tuple[str, ...]
    genai: str


def make_fixture() -> Fixture:
    samples = sample_bodies()
    rows = [r for body in samples for r in _rows(body, 0)]
    start = min(r.start_ns for r in rows)
    end = max(r.end_ns for r in rows)
    first, later, rootless, genai = third_party(end + MIN_NS)
    return Fixture([samples + first, later], start - MIN_NS, end + 10 * MIN_NS, rootless, genai)


def fill(kind: str, folder: Path, fixture: Fixture) -> Loaded:
    store = open_store(kind, folder)
    load(store, fixture.groups)
    return Loaded(kind, store, store.session(), fixture.start_ns, fixture.end_ns, fixture.rootless, fixture.genai)


def close(loaded: Loaded) -> None:
    loaded.session.close()
    loaded.store.close()
