"""`MODULE:ATTR` and `path.py:ATTR` references: what loads, and what each mistake says."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.refs import RefError, load_ref, split_ref


def test_module_reference_loads_the_attribute() -> None:
    assert load_ref("agentdeck.refs:split_ref") is split_ref
    assert load_ref("agentdeck.refs:RefError.__name__") == "RefError"


def test_file_reference_loads_the_file_with_its_siblings_importable(tmp_path: Path) -> None:
    (tmp_path / "helper_mod_for_refs.py").write_text("VALUE = 41\n")
    (tmp_path / "flow.py").write_text("from helper_mod_for_refs import VALUE\nANSWER = VALUE + 1\n")
    assert load_ref(f"{tmp_path / 'flow.py'}:ANSWER") == 42
    assert load_ref(f"{tmp_path / 'flow.py'}:ANSWER") == 42  # loaded once, then reused


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("agentdeck.refs", "not a reference"),
        ("agentdeck.refs:", "not a reference"),
        ("agentdeck.refs:no-such", "not an attribute name"),
        ("not a module:x", "neither a module name nor a path"),
        ("agentdeck_no_such_pkg.flows:wf", "no module named 'agentdeck_no_such_pkg'"),
        ("agentdeck.refs:missing_attr", "has no attribute 'missing_attr'"),
        ("/nonexistent/dir/flow.py:wf", "no file"),
    ],
)
def test_each_mistake_says_what_to_fix(ref: str, says: str) -> None:
    with pytest.raises(RefError, match=says.replace("(", r"\(")):
        load_ref(ref)


def test_a_module_that_raises_on_import_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(RefError, match="RuntimeError: boom at import"):
        load_ref(f"{tmp_path / 'broken.py'}:wf")
