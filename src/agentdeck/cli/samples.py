"""`agentdeck sample-traces`: regenerate sample_traces/ from the engine, byte for byte.

Every example workflow runs on the offline simulator with deterministic ids and a virtual clock, so
the same code gives the same files. The plan mixes ordinary runs (realistic fault rates: retries,
validation failures, dead letters), a chaos batch, and a batch with a tight budget so some tasks end
over budget and flagged incomplete. Each file is one gzipped OTLP/HTTP protobuf request per batch.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.engine.runner import RunSummary


# 2026-11-16T00:00:00Z: a fixed virtual start, so files do not change between runs. The demo and
# `agentdeck load --shift-to-now` move them to the present when loading.
SAMPLE_START_NS = 1_795_132_800_000_000_000


@dataclass(frozen=True, slots=True)
class Batch:
    file: str
    workflow: str
    tasks: int
    seed: int
    chaos: float = 0.0
    budget_usd: float | None = None


PLAN: tuple[Batch, ...] = (
    Batch("triage.pb.gz", "triage", 160, seed=1),
    Batch("triage-over-budget.pb.gz", "triage", 12, seed=2, budget_usd=0.004),
    Batch("due_diligence.pb.gz", "due_diligence", 60, seed=3),
    Batch("earnings.pb.gz", "earnings", 50, seed=4),
    Batch("code_review.pb.gz", "code_review", 60, seed=5),
    Batch("content.pb.gz", "content", 40, seed=6),
    Batch("incident.pb.gz", "incident", 50, seed=7),
    Batch("incident-chaos.pb.gz", "incident", 20, seed=8, chaos=0.25),
)


def write_samples(out: Path, plan: tuple[Batch, ...] = PLAN) -> Iterator[tuple[Path, list[RunSummary]]]:
    """Write each batch of `plan` as `out/<file>` (gzipped OTLP protobuf); yields each path and its runs."""
    from agentdeck.engine.samples import SampleBatch, write_sample_traces

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agentdeck-samples-") as tmp:
        for i, batch in enumerate(plan):
            # Batches follow each other in virtual time, six hours apart, over the sample day.
            raw = Path(tmp) / f"{batch.file}.pb"
            summaries = write_sample_traces(
                raw,
                [
                    SampleBatch(
                        batch.workflow, batch.tasks, seed=batch.seed, budget_usd=batch.budget_usd, chaos=batch.chaos
                    )
                ],
                checkpoint_db=Path(tmp) / f"{batch.file}.sqlite",
                start_time_ns=SAMPLE_START_NS + i * 3 * 3600 * 10**9,
            )
            path = out / batch.file
            path.write_bytes(gzip.compress(raw.read_bytes(), compresslevel=9, mtime=0))
            yield path, summaries
