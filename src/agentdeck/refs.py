"""`MODULE:ATTR` and `path/to/file.py:ATTR`: the one way a workflow or graph is named.

A reference is recorded on a task's root span (`agentdeck.workflow.ref`) and in its checkpoint
metadata (`agentdeck_workflow_ref`), so replay, workers and the dashboard find the code from a thread
alone. `load_ref` turns a reference back into the object; every way it can fail is a `RefError` whose
message says what to fix (the CLI prints it as `agentdeck: ...` with exit 2).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

# The span attribute and the checkpoint metadata key that carry a task's reference.
SPAN_ATTRIBUTE = "agentdeck.workflow.ref"
CHECKPOINT_METADATA_KEY = "agentdeck_workflow_ref"

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class RefError(ValueError):
    """A reference that cannot be loaded; the message says why and what to do."""


def split_ref(ref: str) -> tuple[str, str]:
    """(`MODULE` or `path.py`, `ATTR`) of a reference; `RefError` when it is not of that shape."""
    target, sep, attr = ref.strip().rpartition(":")
    if not sep or not target or not attr:
        raise RefError(f"{ref!r} is not a reference: write MODULE:ATTR (my_pkg.flows:triage) or path/to/file.py:ATTR")
    if not _DOTTED.match(attr):
        raise RefError(f"{ref!r}: {attr!r} is not an attribute name (use letters, digits, _ and dots)")
    if not target.endswith(".py") and not _DOTTED.match(target):
        raise RefError(f"{ref!r}: {target!r} is neither a module name nor a path to a .py file")
    return target, attr


def load_ref(ref: str) -> object:
    """The object `ref` names. Importing the module runs its top-level code, as `python -m` would."""
    target, attr = split_ref(ref)
    module = load_module(target, ref)
    value: object = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise RefError(f"{ref!r}: module {module.__name__!r} has no attribute {attr!r}") from None
    return value


def load_module(target: str, ref: str | None = None) -> ModuleType:
    """The module `target` names: a dotted module name, or a path to a .py file (loaded once). `ref`
    is what the user wrote, for the messages (default: `target`)."""
    if not target.endswith(".py") and not _DOTTED.match(target):
        raise RefError(f"{target!r} is neither a module name nor a path to a .py file")
    return _load_file(target, ref or target) if target.endswith(".py") else _import(target, ref or target)


def _import(name: str, ref: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:  # as `python -m` does (console scripts lack it)
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise RefError(
                f"{ref!r}: no module named {exc.name!r}; install the package that holds it or run from the "
                "folder that holds it (the current directory is on the import path)"
            ) from None
        raise RefError(f"{ref!r}: importing {name!r} failed: {exc}") from exc
    except Exception as exc:  # the user's module raised while importing: say so, not a traceback
        raise RefError(f"{ref!r}: importing {name!r} raised {type(exc).__name__}: {exc}") from exc


def _load_file(path_text: str, ref: str) -> ModuleType:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise RefError(f"{ref!r}: no file {path_text!r}")
    stem = re.sub(r"\W", "_", path.stem)
    name = f"agentdeck_user_{stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RefError(f"{ref!r}: {path_text!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))  # its sibling modules import as they would when run directly
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise RefError(f"{ref!r}: running {path_text!r} raised {type(exc).__name__}: {exc}") from exc
    return module
