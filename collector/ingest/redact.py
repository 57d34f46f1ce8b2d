"""Redaction of secrets and payment card numbers (and, when asked, personal data) from span rows
before they reach disk.

A `Redactor` holds named regex rules, compiled once. `redact_row(row)` rewrites every free-text
column of a `SpanRow` (payloads, attributes, resource attributes, events, links, status message,
names and ids taken from attributes) and replaces each match with `[REDACTED:<rule name>]`; ids,
enums and numbers are left alone. A rule may capture only part of its match in a group named
`secret` (the token after `Bearer `, the password of `scheme://user:pass@host`): only that part is
replaced, so the text around it stays readable.

Fast path: the row's text columns are joined once and each rule is asked whether it can match
there at all, by its literal hints (at least one of which is in every match: `sk-`, `AKIA`,
`://`...) or, for a rule without hints, by one search of its pattern; only the rules that can
match run on the columns, and a clean row (nearly every row) is returned as is.

Extra rules come from a TOML file::

    disable = ["url_password"]          # optional: default rules to turn off, by name

    [[rule]]
    name = "internal_token"             # [a-z0-9_]+, shown in the replacement text
    pattern = "itk_[A-Za-z0-9]{32}"     # Python regex; a group named `secret` limits what is replaced
    hints = ["itk_"]                    # optional literals, one of which is in every match
    ignore_case = false                 # optional

Replacements contain no quote or backslash, and the rules never match one, so JSON columns stay
valid JSON after redaction.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

from agentdeck.collector.store.schema import SpanRow, field_types

_NAME = re.compile(r"[a-z0-9_]{1,64}")

# Columns that never hold free text: identity, enums, numbers. Every other str column is redacted.
_KEEP: Final = frozenset(
    {"trace_id", "span_id", "parent_span_id", "kind", "status_code", "convention", "span_type", "cost_source"}
)
TEXT_COLUMNS: Final[tuple[str, ...]] = tuple(
    name for name, typ in field_types().items() if name not in _KEEP and typ in ("str", "str | None")
)

_TEXT_VALUES: Final = itemgetter(*(SpanRow._fields.index(name) for name in TEXT_COLUMNS))  # one C call per row


class RedactionConfigError(ValueError):
    """A redaction rule file that cannot be used; the message names the file, the rule and the fix."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...] = ()  # literals, one of which is in every match; empty = search with the pattern
    ignore_case: bool = False  # hints are then lower case and looked for in the lowered text
    check: Callable[[str], bool] | None = None  # a match is replaced only when this says yes (Luhn)

    @property
    def replacement(self) -> str:
        return f"[REDACTED:{self.name}]"

    def may_match(self, text: str, lowered: str, seen: dict[tuple[bool, str], bool]) -> bool:
        """False only when no match can be in `text` (`seen` caches hint lookups shared by rules)."""
        if self.check is not None:
            return any(self.check(m.group(0)) for m in self.pattern.finditer(text))
        if not self.hints:
            return self.pattern.search(text) is not None
        haystack = lowered if self.ignore_case else text
        for hint in self.hints:
            key = (self.ignore_case, hint)
            found = seen.get(key)
            if found is None:
                found = seen[key] = hint in haystack
            if found:
                return True
        return False

    def apply(self, text: str) -> str:
        check = self.check
        if check is not None:
            return self.pattern.sub(lambda m: self.replacement if check(m.group(0)) else m.group(0), text)
        if "secret" not in self.pattern.groupindex:
            return self.pattern.sub(self.replacement, text)

        def partial(m: re.Match[str]) -> str:
            if m.start("secret") < 0:  # an optional `secret` group that did not take part: replace it all
                return self.replacement
            whole, start, end = m.group(0), m.start("secret") - m.start(), m.end("secret") - m.start()
            return whole[:start] + self.replacement + whole[end:]

        return self.pattern.sub(partial, text)


def rule(
    name: str,
    pattern: str,
    hints: Iterable[str] = (),
    ignore_case: bool = False,
    check: Callable[[str], bool] | None = None,
) -> Rule:
    flags = re.IGNORECASE if ignore_case else 0
    return Rule(
        name=name,
        pattern=re.compile(pattern, flags),
        hints=tuple(h.lower() if ignore_case else h for h in hints),
        ignore_case=ignore_case,
        check=check,
    )


# Payment card numbers: 13-19 digits, optionally grouped by single spaces or dashes, not part of a
# longer number, word, id or decimal; replaced only when they start with an issuer's prefix and pass
# the Luhn check, so that ids, timestamps (a nanosecond or millisecond epoch starts with 1) and
# token counts are left alone. A bare JSON number (after `":`, `[` or `,`) is not text and is kept,
# so JSON columns stay JSON.
_CARD = r"(?<![\w.\-\[,])(?<!\":)(?<!\": )\d(?:[ \-]?\d){12,18}(?![\w\-]|\.\d)"
# (prefix, lengths): Visa, Mastercard, American Express, Discover, JCB, Diners Club, UnionPay, Maestro.
_ISSUERS: Final = (
    (("4",), (13, 16, 19)),
    ((*(str(p) for p in range(51, 56)), *(str(p) for p in range(2221, 2721))), (16,)),
    (("34", "37"), (15,)),
    (("6011", "65", *(str(p) for p in range(644, 650))), (16, 17, 18, 19)),
    (tuple(str(p) for p in range(3528, 3590)), (16, 17, 18, 19)),
    (("36", "38", "39", *(str(p) for p in range(300, 306))), (14, 15, 16, 17, 18, 19)),
    (("62",), (16, 17, 18, 19)),
    (("50", "56", "57", "58", "63", "67"), (12, 13, 14, 15, 16, 17, 18, 19)),
)


def is_card_number(text: str) -> bool:
    """True when `text` (digits, maybe grouped by spaces or dashes) is a payment card number: an
    issuer's prefix and length, and a valid Luhn check digit."""
    digits = text.replace(" ", "").replace("-", "")
    if not any(len(digits) in lengths and digits.startswith(prefixes) for prefixes, lengths in _ISSUERS):
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_TOKEN = r"[A-Za-z0-9_\-]"
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    rule(
        "private_key",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:(?!-----END)[^\"\\]|\\.)*(?:-----END[A-Z0-9 ]*PRIVATE KEY-----)?",
        ["PRIVATE KEY-----"],
    ),
    rule("anthropic_api_key", rf"sk-ant-{_TOKEN}{{16,}}", ["sk-"]),
    rule("openai_api_key", rf"(?<![A-Za-z])sk-(?:proj-|svcacct-|admin-)?{_TOKEN}{{20,}}", ["sk-"]),
    rule("aws_access_key_id", r"A(?:KIA|SIA)[0-9A-Z]{16}", ["AKIA", "ASIA"]),
    rule(
        "github_token",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    ),
    rule("payment_card", _CARD, check=is_card_number),
    rule("bearer_token", r"\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)", ["bearer"], ignore_case=True),
    rule(
        "url_password", r"\b[a-z][a-z0-9+.\-]*://[^\s:/?#@\"\\]*:(?P<secret>[^\s@/?#\"\\]+)@", ["://"], ignore_case=True
    ),
)
PII_RULES: Final[tuple[Rule, ...]] = (
    rule("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b", ["@"]),
    rule(
        "phone",
        r"(?<![\w+.\-])(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){2,4}"
        r"|\(\d{3}\) ?\d{3}[ .\-]\d{4}|\d{3}[ .\-]\d{3}[ .\-]\d{4})(?![\w.\-])",
    ),
)


class Redactor:
    def __init__(self, rules: Sequence[Rule]) -> None:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise RedactionConfigError(f"redaction rule names must be unique, got {names}")
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._any_ignore_case = any(r.ignore_case and r.hints for r in self.rules)

    @classmethod
    def from_config(cls, rules_path: Path | None, include_pii: bool) -> Redactor:
        """The default secret rules, the PII rules when `include_pii`, then the file's rules."""
        rules = list(DEFAULT_RULES) + (list(PII_RULES) if include_pii else [])
        if rules_path is not None:
            disable, extra = load_rules(Path(rules_path))
            known = {r.name for r in (*DEFAULT_RULES, *PII_RULES)}
            unknown = sorted(set(disable) - known)
            if unknown:
                raise RedactionConfigError(
                    f"{rules_path}: disable names unknown rules {unknown}; the rules are {sorted(known)}"
                )
            rules = [r for r in rules if r.name not in disable]
            clash = sorted({r.name for r in extra} & {r.name for r in rules})
            if clash:
                raise RedactionConfigError(f"{rules_path}: rules {clash} already exist; give them other names")
            rules += extra
        return cls(rules)

    def redact_text(self, text: str) -> str:
        lowered = text.lower() if self._any_ignore_case else text
        seen: dict[tuple[bool, str], bool] = {}
        for r in [r for r in self.rules if r.may_match(text, lowered, seen)]:
            text = r.apply(text)
        return text

    def redact_row(self, row: SpanRow) -> SpanRow:
        """`row` with every match of every rule replaced in its text columns (the same object when clean)."""
        values = _TEXT_VALUES(row)
        joined = "\x00".join(filter(None, values))
        lowered = joined.lower() if self._any_ignore_case else joined
        seen: dict[tuple[bool, str], bool] = {}
        active = [r for r in self.rules if r.may_match(joined, lowered, seen)]
        if not active or not joined:
            return row
        changes: dict[str, Any] = {}  # str values for str columns (NamedTuple._replace is typed per field)
        for name, value in zip(TEXT_COLUMNS, values, strict=True):
            if not value:
                continue
            new = value
            for r in active:
                new = r.apply(new)
            if new != value:
                changes[name] = new
        return row._replace(**changes) if changes else row


def load_rules(path: Path) -> tuple[list[str], list[Rule]]:
    """(default rules to disable, extra rules) from a TOML file; RedactionConfigError says what to fix."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RedactionConfigError(f"cannot read redaction rules {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RedactionConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"disable", "rule"})
    if unknown:
        raise RedactionConfigError(f"{path}: unknown keys {unknown}; use `disable = [...]` and `[[rule]]` tables")
    disable = doc.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise RedactionConfigError(f"{path}: `disable` must be a list of rule names")
    tables = doc.get("rule", [])
    if not isinstance(tables, list):
        raise RedactionConfigError(f"{path}: write each rule as a [[rule]] table")
    return list(disable), [_parse_rule(path, i, t) for i, t in enumerate(tables, start=1)]


def _parse_rule(path: Path, index: int, table: object) -> Rule:
    where = f"{path}: rule #{index}"
    if not isinstance(table, dict):
        raise RedactionConfigError(f"{where} must be a table with name and pattern")
    unknown = sorted(set(table) - {"name", "pattern", "hints", "ignore_case"})
    if unknown:
        raise RedactionConfigError(f"{where} has unknown keys {unknown}; allowed: name, pattern, hints, ignore_case")
    name, pattern = table.get("name"), table.get("pattern")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RedactionConfigError(f"{where}: name must be 1-64 characters of a-z, 0-9 and _, got {name!r}")
    where = f"{path}: rule {name!r}"
    if not isinstance(pattern, str) or not pattern:
        raise RedactionConfigError(f"{where}: pattern must be a non-empty regular expression string")
    hints = table.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) and h for h in hints):
        raise RedactionConfigError(f"{where}: hints must be a list of non-empty strings")
    ignore_case = table.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise RedactionConfigError(f"{where}: ignore_case must be true or false")
    try:
        compiled = rule(name, pattern, hints, ignore_case)
    except re.error as exc:
        raise RedactionConfigError(f"{where}: pattern is not a valid regular expression: {exc}") from None
    if compiled.pattern.match(""):
        raise RedactionConfigError(f"{where}: pattern matches the empty string; it must match the secret itself")
    return compiled
