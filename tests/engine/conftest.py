from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import Run
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentdeck.engine.runner import run_tasks
from agentdeck.engine.telemetry import make_tracer_provider


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engine tests use the simulator and export nowhere, whatever the machine's environment says."""
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def run_workflow(tmp_path: Path) -> Callable[..., Run]:
    counter = iter(range(1000))

    def _run(workflow: str, tasks: int, **kwargs: Any) -> Run:
        exporter = InMemorySpanExporter()
        deterministic = kwargs.pop("deterministic_ids", True)
        tp = make_tracer_provider(exporters=[exporter], deterministic_ids=deterministic)
        db = kwargs.pop("checkpoint_db", None) or tmp_path / f"run{next(counter)}.sqlite"
        kwargs.setdefault("latency_scale", 0.0)
        kwargs["deterministic_ids"] = deterministic
        summary = run_tasks(workflow, tasks, checkpoint_db=db, tracer_provider=tp, **kwargs)
        tp.shutdown()
        return Run(summary, list(exporter.get_finished_spans()), Path(db))

    return _run
