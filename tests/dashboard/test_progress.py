"""The CLI's progress line off a terminal (CI logs, the demo's log file): sparse, and the end once."""

from __future__ import annotations

import io

from agentdeck.cli.progress import Progress


def test_off_a_terminal_the_final_line_is_written_once() -> None:
    out = io.StringIO()
    progress = Progress(3, "loading", stream=out)
    for done in (1, 2, 3):
        progress.update(done)
    progress.finish()
    lines = out.getvalue().splitlines()
    assert sum("3/3 (100%)" in line for line in lines) == 1
    assert lines[0].startswith("loading [") and "1/3" in lines[0]


def test_a_note_at_the_end_is_written_even_after_the_last_update() -> None:
    out = io.StringIO()
    progress = Progress(2, "loading", stream=out)
    progress.update(2)
    progress.finish("8 files")
    assert out.getvalue().splitlines()[-1].endswith("8 files")
