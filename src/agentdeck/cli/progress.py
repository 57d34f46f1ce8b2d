"""A dependency-free progress line for the CLI: redrawn in place on a terminal, sparse lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from agentdeck.engine.runner import RunSummary


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.done = 0
        self._tty = self.stream.isatty()
        self._last_draw = 0.0
        self._drawn = -1  # the count last drawn
        self._start = time.monotonic()

    def update(self, done: int, note: str = "") -> None:
        self.done = done
        now = time.monotonic()
        if not self._tty and now - self._last_draw < 2.0 and done < self.total:
            return
        self._last_draw = now
        self._drawn = done
        pct = (100 * done / self.total) if self.total else 100.0
        width = 28
        filled = int(width * pct / 100)
        bar = "#" * filled + "-" * (width - filled)
        line = f"{self.label} [{bar}] {done}/{self.total} ({pct:3.0f}%) {now - self._start:5.1f}s {note}"
        if self._tty:
            self.stream.write("\r" + line[:160].ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self, note: str = "") -> None:
        done = self.total if self.total else self.done
        if self._tty or note or self._drawn != done:  # off a terminal, the final line once
            self.update(done, note)
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def describe_run(summary: RunSummary) -> str:
    """One line for a finished run: tasks by outcome and what they cost."""
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(summary.counts.items()))
    done = sum(t.from_ledger for t in summary.tasks)
    earlier = f"; {done} already done in this checkpoint file, not re-run" if done else ""
    return f"{len(summary.tasks)} tasks ({counts}), ${summary.total_cost_usd:.4f}{earlier}"
