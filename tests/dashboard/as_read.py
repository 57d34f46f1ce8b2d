"""Page text as a reader sees it: the dashboard escapes every punctuation mark of span-derived text in
Markdown (components.inert) and breaks bare URLs with a word joiner, so AppTest's Markdown source of
`triage-s1-00003` is `triage\\-s1\\-00003`. Tests compare what is shown, not the escapes."""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"


def as_read(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")
