"""Semantic cache: hit rate and lookup time on a realistic paraphrase set of support tickets.

For each of 24 base tickets (7 issues x order ids, customer voice) there are three kinds of later
requests: resends (the same ticket with greetings, sign-offs, punctuation or case changed: these
should hit), paraphrases (the same request reworded: a better model would hit, a cache that serves
them must not serve wrong answers), and negatives (another issue, or the same words about another
order: these must never hit). The cache holds every base ticket, plus `--fill` unrelated entries
for the lookup-time measurement. Prints a table per threshold and the lookup latency; `--write`
appends the result to docs/BENCHMARKS.md.

    .venv/bin/python bench/semantic_cache_bench.py [--fill 4000] [--write]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from agentdeck.engine.providers.base import LLMResponse, Usage
from agentdeck.engine.semantic_cache import SemanticCache, WordLlamaEmbedder

ISSUES = [
    (
        "I was charged twice for order {o}. Please refund the duplicate charge.",
        "My card was billed two times for {o}; I want the extra payment refunded.",
    ),
    (
        "Order {o} was supposed to arrive last Tuesday and tracking has not moved.",
        "Tracking for {o} has been stuck since Tuesday, it should have been delivered by now.",
    ),
    (
        "Since the 3.2 update the app crashes when I sync. My order {o} came with it.",
        "After updating to 3.2, syncing makes the app crash (bought with order {o}).",
    ),
    (
        "I can't log in after resetting my phone; 2FA codes fail. Last order was {o}.",
        "My two-factor codes stopped working after I reset my phone, so I cannot sign in. Order {o}.",
    ),
    (
        "I returned order {o} two weeks ago and still have no refund.",
        "Two weeks since I sent back {o} and the money has not come back to me.",
    ),
    (
        "Can I change the delivery address for {o}? I moved yesterday.",
        "I moved yesterday, please ship {o} to my new address instead.",
    ),
    (
        "The invoice for {o} shows the wrong VAT number for my company.",
        "Our company VAT number on the {o} invoice is incorrect.",
    ),
]
OPENERS = ["", "Hello, ", "Hi team, ", "Good morning. "]
CLOSERS = ["", " Thanks in advance.", " This is urgent.", " Thank you!", " Regards, Ana"]


def resend(text: str, rng: random.Random) -> str:
    body = text
    if rng.random() < 0.5:
        body = body.replace(". ", "! ", 1)
    if rng.random() < 0.3:
        body = body.lower()
    return rng.choice(OPENERS[1:]) + body + rng.choice(CLOSERS[1:])


def build(rng: random.Random) -> tuple[list[str], list[str], list[str], list[str]]:
    bases, resends, paraphrases, negatives = [], [], [], []
    for i in range(24):
        plain, para = ISSUES[i % len(ISSUES)]
        order = f"ORD-{rng.randint(100000, 999999)}"
        bases.append(plain.format(o=order))
        resends.append(resend(plain.format(o=order), rng))
        paraphrases.append(para.format(o=order))
        other_order = f"ORD-{rng.randint(100000, 999999)}"
        negatives.append(plain.format(o=other_order))  # the same words, another order
        other_issue = ISSUES[(i + 3) % len(ISSUES)][0]
        negatives.append(other_issue.format(o=order))  # the same order, another issue
    return bases, resends, paraphrases, negatives


def answer() -> LLMResponse:
    return LLMResponse("msg", "claude-haiku-4-5", '{"category": "billing"}', Usage(300, 40), 800.0, "end_turn")


def rate(cache: SemanticCache, texts: list[str]) -> float:
    return sum(cache.lookup("classifier", "v1", t) is not None for t in texts) / len(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fill", type=int, default=4000, help="unrelated entries in the cache for lookup timing")
    ap.add_argument("--write", action="store_true", help="append the result to docs/BENCHMARKS.md")
    args = ap.parse_args()
    rng = random.Random(7)
    t0 = time.perf_counter()
    embedder = WordLlamaEmbedder()
    load_s = time.perf_counter() - t0
    bases, resends, paraphrases, negatives = build(rng)
    lines = [
        "| threshold | resends served | paraphrases served | wrong hits (other order / other issue) |",
        "|---|---|---|---|",
    ]
    for threshold in (0.95, 0.9, 0.85, 0.8, 0.7):
        cache = SemanticCache(embedder=embedder, threshold=threshold)
        for b in bases:
            cache.store("classifier", "v1", b, answer(), 0.0005)
        lines.append(
            f"| {threshold} | {rate(cache, resends):.0%} | {rate(cache, paraphrases):.0%} "
            f"| {rate(cache, negatives):.0%} |"
        )
    cache = SemanticCache(embedder=embedder, max_entries=args.fill + len(bases))
    for i in range(args.fill):  # unrelated tickets about other orders
        plain, _ = ISSUES[i % len(ISSUES)]
        cache.store("classifier", "v1", resend(plain.format(o=f"ORD-{i:06d}"), rng), answer(), 0.0005)
    for b in bases:
        cache.store("classifier", "v1", b, answer(), 0.0005)
    timings = []
    for text in (resends + paraphrases + negatives) * 5:
        t = time.perf_counter()
        cache.lookup("classifier", "v1", text)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    entries = args.fill + len(bases)
    summary = (
        f"model load {load_s:.2f} s; lookup (embed + search among {entries:,} entries) "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(timings)} lookups"
    )
    table = "\n".join(lines)
    print(table)
    print(summary)
    if args.write:
        doc = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
        doc.write_text(
            doc.read_text(encoding="utf-8").rstrip("\n")
            + f"\n\n### Run of {time.strftime('%Y-%m-%d')}\n\n{table}\n\n{summary}.\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
