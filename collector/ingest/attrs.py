"""Typed reads of decoded attribute maps, so the normalizer never handles raw values."""

from __future__ import annotations

import json
import math

from agentdeck.collector.ingest.model import Attributes, AttrValue


def text(attrs: Attributes, *keys: str) -> str | None:
    """The first non-empty value among `keys`, as text (numbers are formatted)."""
    for key in keys:
        value = attrs.get(key)
        if value is None or value == "":
            continue
        if value.__class__ is str:
            return value  # type: ignore[return-value]
        if isinstance(value, bool | int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)
    return None


def integer(attrs: Attributes, *keys: str) -> int | None:
    for key in keys:
        value = as_int(attrs.get(key))
        if value is not None:
            return value
    return None


def number(attrs: Attributes, *keys: str) -> float | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        if isinstance(value, str):
            try:
                parsed = float(value)
            except ValueError:
                continue
            if math.isfinite(parsed):
                return parsed
    return None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def as_int(value: AttrValue) -> int | None:
    """An int64 from an int, a whole float or numeric text; None for anything else or out of range."""
    result: int | None = None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        result = int(value) if math.isfinite(value) else None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            result = int(value.strip())
        except ValueError:
            try:
                parsed = float(value)
            except ValueError:
                return None
            result = int(parsed) if math.isfinite(parsed) else None
    if result is None or not _INT64_MIN <= result <= _INT64_MAX:
        return None
    return result


def has_prefix(attrs: Attributes, prefix: str) -> bool:
    return any(key.startswith(prefix) for key in attrs)


def json_text(value: AttrValue) -> str | None:
    """`value` as JSON text: a string that already holds JSON is kept as sent, other text is quoted."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("[", "{"):
            try:
                json.loads(value)
            except (ValueError, RecursionError):
                pass
            else:
                return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def flattened_list(attrs: Attributes, prefix: str, item_prefix: str = "") -> list[dict[str, AttrValue]]:
    """Rebuild a list flattened as `<prefix><N>.<item_prefix><field>` keys (OpenInference, OpenLLMetry)."""
    items: dict[int, dict[str, AttrValue]] = {}
    for key, value in attrs.items():
        if not key.startswith(prefix):
            continue
        index, _, rest = key[len(prefix) :].partition(".")
        if not index.isdigit() or not rest:
            continue
        if item_prefix and rest.startswith(item_prefix):
            rest = rest[len(item_prefix) :]
        items.setdefault(int(index), {})[rest] = value
    return [items[i] for i in sorted(items)]
