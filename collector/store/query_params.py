"""Parameters of the named queries: their declaration, and parsing request text into typed values.

Every value a query binds comes out of `parse_params`, so a bad or unknown parameter is answered
400 with a message that names it and says what it accepts, and nothing untyped reaches the SQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

ParamType = Literal["int", "float", "str", "bool", "enum", "hex"]

DAY_NS: Final = 24 * 3600 * 1_000_000_000
MAX_TEXT_CHARS: Final = 500
# Keys a client may send that are not query parameters (the HTTP layer's response format).
RESERVED_KEYS: Final = frozenset({"format"})

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})
_HEX: Final = re.compile(r"[0-9a-f]*")


class QueryError(Exception):
    """A query that cannot be answered; `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"QueryError(status={self.status}, message={self.message!r})"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType
    description: str
    default: int | float | str | bool | None = None
    allowed: tuple[str, ...] | None = None  # for enum
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    max_length: int | None = None  # for str / hex

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "default": self.default,
            "required": self.required,
        }
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out

    def accepts(self) -> str:
        if self.type == "enum" and self.allowed:
            return "one of " + ", ".join(self.allowed)
        if self.type == "bool":
            return "true or false"
        if self.type == "hex":
            return f"lowercase hex, at most {self.max_length} characters"
        bounds = ""
        if self.minimum is not None and self.maximum is not None:
            bounds = f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            bounds = f" >= {self.minimum:g}"
        if self.type == "int":
            return "an integer" + bounds
        if self.type == "float":
            return "a number" + bounds
        return f"text of at most {self.max_length or MAX_TEXT_CHARS} characters"

    def parse(self, raw: str) -> int | float | str | bool:
        bad = QueryError(400, f"parameter {self.name!r} got {_show(raw)}; it accepts {self.accepts()}")
        text = raw.strip()
        if self.type == "bool":
            low = text.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise bad
        if self.type == "enum":
            if self.allowed is None or text not in self.allowed:
                raise bad
            return text
        if self.type == "hex":
            low = text.lower()
            if not _HEX.fullmatch(low) or (self.max_length is not None and len(low) > self.max_length):
                raise bad
            return low
        if self.type == "str":
            if len(raw) > (self.max_length or MAX_TEXT_CHARS):
                raise bad
            if "\x00" in raw:
                raise QueryError(400, f"parameter {self.name!r} contains a NUL character; it accepts {self.accepts()}")
            return raw
        number: int | float
        try:
            number = int(text) if self.type == "int" else float(text)
        except ValueError:
            raise bad from None
        if number != number or number in (float("inf"), float("-inf")):
            raise bad
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise bad
        if self.type == "int" and not -BIGINT_MAX <= number <= BIGINT_MAX:  # DuckDB binds a 64-bit integer
            raise QueryError(400, f"parameter {self.name!r} got {_show(raw)}; it is out of the 64-bit integer range")
        return number


BIGINT_MAX: Final = 2**63 - 1


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 60 else raw[:57] + "...")


START_NS: Final = Param(
    "start_ns", "int", "range start on span start time, unix ns (default: end - 24 h)", None, minimum=0
)
END_NS: Final = Param("end_ns", "int", "range end on span start time, unix ns (default: now)", None, minimum=0)
WORKFLOW: Final = Param("workflow", "str", "only tasks (traces) of this workflow", None, max_length=200)
SERVICE: Final = Param("service", "str", "only spans of this service.name", None, max_length=200)
COMMON: Final = (START_NS, END_NS, WORKFLOW, SERVICE)


@dataclass(frozen=True, slots=True)
class Args:
    """Parsed parameters of one call: typed values with defaults applied."""

    values: Mapping[str, int | float | str | bool | None]

    def integer(self, name: str) -> int:
        v = self.values[name]
        assert isinstance(v, int) and not isinstance(v, bool)
        return v

    def opt_integer(self, name: str) -> int | None:
        v = self.values.get(name)
        return None if v is None else int(v)

    def opt_number(self, name: str) -> float | None:
        v = self.values.get(name)
        return None if v is None else float(v)

    def text(self, name: str) -> str:
        v = self.values[name]
        assert isinstance(v, str)
        return v

    def opt_text(self, name: str) -> str | None:
        v = self.values.get(name)
        return None if v is None or v == "" else str(v)

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name))


def parse_params(query: str, declared: tuple[Param, ...], raw: Mapping[str, str]) -> Args:
    by_name = {p.name: p for p in declared}
    for key in raw:
        if key not in by_name and key not in RESERVED_KEYS:
            names = ", ".join(sorted(by_name))
            raise QueryError(400, f"query {query!r} has no parameter {_show(key)}; it accepts: {names}")
    values: dict[str, int | float | str | bool | None] = {}
    for p in declared:
        text = raw.get(p.name)
        if text is None or (text.strip() == "" and (p.type != "str" or p.required)):
            if p.required:
                raise QueryError(400, f"query {query!r} needs parameter {p.name!r} ({p.accepts()})")
            values[p.name] = p.default
        else:
            values[p.name] = p.parse(text)
    if "end_ns" in by_name:
        end = values.get("end_ns")
        end_ns = int(end) if isinstance(end, int) else time.time_ns()
        start = values.get("start_ns")
        start_ns = int(start) if isinstance(start, int) else end_ns - DAY_NS
        if start_ns >= end_ns:
            raise QueryError(400, f"start_ns ({start_ns}) must be before end_ns ({end_ns})")
        values["start_ns"], values["end_ns"] = start_ns, end_ns
    return Args(values)
