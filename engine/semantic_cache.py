"""Semantic response cache: serve a near-duplicate request from an earlier validated answer.

The exact cache (`policies.ResponseCache`) only serves byte-identical requests; support tickets come
back reworded ("Thanks in advance." / "This is urgent."). This cache embeds the request (system
prompt + messages) and serves the stored answer of the most similar earlier request of the same
agent and prompt version, when the cosine similarity reaches the threshold (default 0.95) and the
entry is younger than its TTL. A hit is a `chat {model}` span with `agentdeck.cache.hit`,
`agentdeck.cache.kind=semantic`, the similarity, and the tokens and cost it saved.

Static word embeddings do not see digits: "order ORD-123456" and "order ORD-654321" embed the same.
So an entry is only served when every token with a digit in it (ids, amounts, dates) is the same
in both requests: a different order never gets another order's answer.

The embeddings come from WordLlama's bundled model (`pip install 'agentdeck[cache]'`): 256-dim
static token embeddings distilled from Llama 3, 16 MB of weights and the tokenizer inside the wheel,
nothing downloaded at run time; loading takes 0.2-1 s, embedding a prompt ~0.1 ms, a lookup among
4,000 entries ~0.4 ms (p50; bench/semantic_cache_bench.py, docs/BENCHMARKS.md). Replays never use it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agentdeck.engine.providers.base import LLMRequest, LLMResponse

DEFAULT_THRESHOLD = 0.95
DEFAULT_TTL_S = 3600.0
_DIGITS = re.compile(r"\S*\d\S*")


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray[Any, Any]: ...  # one unit-length row per text


class WordLlamaEmbedder:
    """WordLlama's bundled 256-dim model, loaded from the installed package only."""

    def __init__(self) -> None:
        try:
            import wordllama
        except ImportError:
            raise RuntimeError("the semantic cache needs its embedding model: pip install 'agentdeck[cache]'") from None
        package = Path(wordllama.__file__).parent  # holds weights/ and tokenizers/: never download
        self._model = wordllama.WordLlama.load(cache_dir=package, disable_download=True)

    def embed(self, texts: list[str]) -> np.ndarray[Any, Any]:
        vectors = np.asarray(self._model.embed(texts, norm=True), dtype=np.float32)
        return vectors


def request_text(request: LLMRequest) -> str:
    """What is embedded: the system prompt and every message."""
    return "\n".join([request.system, *(m.content for m in request.messages)])


def _identifiers(text: str) -> frozenset[str]:
    return frozenset(t.strip(".,;:!?()[]{}\"'") for t in _DIGITS.findall(text))


@dataclass
class _Entry:
    vector: np.ndarray[Any, Any]
    identifiers: frozenset[str]
    response: LLMResponse
    cost_usd: float
    stored_s: float


@dataclass(frozen=True, slots=True)
class SemanticHit:
    response: LLMResponse  # as stored: its usage is what the hit saved
    similarity: float
    cost_usd: float  # what the stored answer cost


@dataclass
class SemanticCache:
    """Per (agent, prompt version): the embedded requests and their validated answers."""

    embedder: Embedder = field(default_factory=WordLlamaEmbedder)
    threshold: float = DEFAULT_THRESHOLD
    ttl_s: float = DEFAULT_TTL_S
    max_entries: int = 4096  # per agent and prompt version; the oldest go first
    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, str], list[_Entry]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"the semantic cache threshold is a similarity in (0, 1], got {self.threshold}")
        if self.ttl_s <= 0:
            raise ValueError(f"the semantic cache TTL must be positive seconds, got {self.ttl_s}")

    def lookup(self, agent: str, version: str, text: str) -> SemanticHit | None:
        """The most similar live entry at or above the threshold with the same identifiers, if any."""
        vector = self.embedder.embed([text])[0]
        ids = _identifiers(text)
        now = self.clock()
        with self._lock:
            entries = self._entries.get((agent, version), [])
            entries[:] = [e for e in entries if now - e.stored_s < self.ttl_s]
            candidates = [e for e in entries if e.identifiers == ids]
            if not candidates:
                return None
            sims = np.stack([e.vector for e in candidates]) @ vector
            best = int(np.argmax(sims))
            similarity = float(sims[best])
            if similarity < self.threshold:
                return None
            hit = candidates[best]
        return SemanticHit(hit.response, round(min(similarity, 1.0), 4), hit.cost_usd)

    def store(self, agent: str, version: str, text: str, response: LLMResponse, cost_usd: float) -> None:
        entry = _Entry(self.embedder.embed([text])[0], _identifiers(text), response, cost_usd, self.clock())
        with self._lock:
            entries = self._entries.setdefault((agent, version), [])
            entries.append(entry)
            del entries[: max(len(entries) - self.max_entries, 0)]
