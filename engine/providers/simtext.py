"""Plausible text for the simulator's string fields, built from the words, ids and figures in the
conversation (so answers visibly relate to the task), shaped by the field's name."""

from __future__ import annotations

import random
import re

_STOP = frozenset(
    (
        "about",
        "above",
        "advance",
        "after",
        "again",
        "against",
        "allowed",
        "analyse",
        "analysis",
        "answer",
        "asking",
        "assess",
        "attempt",
        "could",
        "every",
        "exactly",
        "failed",
        "findings",
        "first",
        "fixes",
        "given",
        "hello",
        "object",
        "order",
        "other",
        "please",
        "previous",
        "rated",
        "rejected",
        "reply",
        "report",
        "review",
        "should",
        "since",
        "source",
        "status",
        "still",
        "thanks",
        "their",
        "there",
        "these",
        "thing",
        "things",
        "third",
        "those",
        "ticket",
        "under",
        "urgent",
        "using",
        "validation",
        "weeks",
        "whether",
        "which",
        "while",
        "would",
        "write",
        "written",
    )
)
_TITLE = {"subject", "title", "headline"}
_SHORT_LIST = {"findings", "issues", "red_flags", "risks", "conditions", "comments", "notes", "follow_ups"}
_ADJ = ["stable", "weaker than expected", "in line with the plan", "better than last quarter", "at risk", "unclear"]
_SENTENCES = [
    "{A} is the main driver here, with {b} as a secondary factor.",
    "We checked {a} against {b}; {num}.",
    "Recommend following up on {a} before closing out {b}.",
    "No evidence that {a} affects {b} so far.",
    "{A} looks {adj} compared with {b}.",
    "The {a} issue traces back to {b}; {num}.",
]
_ITEMS = [
    "{A} needs a second look",
    "Confirm {a} with {b}",
    "{A}: {num_short}",
    "Check {a} before {b}",
    "{A} {adj}",
    "Escalate {a} if {b} persists",
]


class TextWriter:
    def __init__(self, rng: random.Random, context: str) -> None:
        self.rng = rng
        self.ids = list(dict.fromkeys(re.findall(r"\b[A-Z]{2,}-\d{2,}\b", context)))
        self.numbers = list(dict.fromkeys(re.findall(r"\$\d[\d,.]*[MBK]?|\b\d+(?:\.\d+)?%", context)))
        self.paths = list(dict.fromkeys(re.findall(r"\b[\w/]+\.py\b", context)))
        words = [w.lower() for w in re.findall(r"[A-Za-z][a-z]{4,}", context)]
        self.words = list(dict.fromkeys(w for w in words if w not in _STOP))[:30] or ["request", "account"]

    def _fill(self, template: str) -> str:
        a, b = self.rng.sample(self.words, 2) if len(self.words) > 1 else (self.words[0], "the process")
        num = self.rng.choice(self.numbers) if self.numbers else ""
        return template.format(
            A=a.capitalize(),
            a=a,
            b=b,
            adj=self.rng.choice(_ADJ),
            num=f"the figure to watch is {num}" if num else "no figures stood out",
            num_short=num or "no change",
        )

    def write(self, name: str, max_len: int = 600) -> str:
        key = name.lower()
        if key in _TITLE:
            a, b = self.rng.sample(self.words, 2) if len(self.words) > 1 else (self.words[0], "update")
            text = self.rng.choice(
                [f"Update on your {a} {b}", f"{a.capitalize()} and {b}: next steps", f"{a.capitalize()} {b} review"]
            )
        elif key == "keywords":
            text = " ".join(self.rng.sample(self.words, min(2, len(self.words))))
        elif key == "files_changed":
            text = self.rng.choice(self.paths) if self.paths else "src/main.py"
        elif key == "key_figure":
            text = self.rng.choice(self.numbers) if self.numbers else f"{self.rng.randint(2, 40)}%"
        elif key == "order_status":
            found = re.findall(r"\b(shipped|delivered|processing|returned|on hold)\b", " ".join(self.words))
            text = found[0] if found else self.rng.choice(["processing", "shipped", "delivered"])
        elif key == "timeline":
            text = f"T+{self.rng.randint(1, 90)}m " + self._fill(self.rng.choice(_ITEMS)).lower()
        elif key in _SHORT_LIST:
            text = self._fill(self.rng.choice(_ITEMS))
        else:
            n = self.rng.randint(2, 3)
            text = " ".join(self._fill(t) for t in self.rng.sample(_SENTENCES, n))
            if self.ids and self.rng.random() < 0.5:
                text = f"Regarding {self.ids[0]}: {text}"
        return text[:max_len]
