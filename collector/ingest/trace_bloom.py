"""A Bloom filter over the trace ids in the store.

The writer asks it before loading a trace from the DuckDB file: "certainly not stored" (every
brand-new trace) needs no scan; "maybe stored" costs one `trace_id IN (...)` lookup. Trace ids are
random 128-bit values, so their two halves serve as the two base hashes (double hashing). False
positives only cost a lookup, never correctness. Rebuilt from the file at start.
"""

from __future__ import annotations

from collections.abc import Iterable


class TraceFilter:
    def __init__(self, bits: int = 1 << 26, hashes: int = 4) -> None:
        self.bits = bits
        self.hashes = hashes
        self._array = bytearray(bits // 8)
        self.count = 0

    def _positions(self, trace_id: str) -> list[int]:
        try:
            h1 = int(trace_id[:16], 16)
            h2 = int(trace_id[16:32], 16) | 1
        except ValueError:
            h1, h2 = hash(trace_id) & 0xFFFFFFFFFFFFFFFF, 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]

    def add(self, trace_id: str) -> None:
        for pos in self._positions(trace_id):
            self._array[pos >> 3] |= 1 << (pos & 7)
        self.count += 1

    def update(self, trace_ids: Iterable[str]) -> None:
        for trace_id in trace_ids:
            self.add(trace_id)

    def __contains__(self, trace_id: object) -> bool:
        if not isinstance(trace_id, str):
            return False
        return all(self._array[pos >> 3] & (1 << (pos & 7)) for pos in self._positions(trace_id))
