"""`agentdeck evaluator`: online evaluators in their own process. It reads new traces matching a filter
through the collector's query API, scores a sample of them (code evaluators, an LLM judge) and writes
the scores back with POST /api/scores, so the collector never imports the engine.

A trace is scored once per evaluator name: traces already holding a score of that name (this process's
earlier runs, or another evaluator process) are skipped. The sample is chosen from the trace id, so
every process picks the same traces.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentdeck.cli.main import CliError, add_collector_arguments, collector_token, collector_url

LOOKBACK_S = 3600.0  # on start, traces this old are still scored


@dataclass
class OnlineEvaluator:
    url: str
    token: str | None
    evaluators: Sequence[Any]  # agentdeck.engine.evaluators.Evaluator
    filters: dict[str, str]
    sample: float = 1.0
    since_ns: int = 0
    scored: set[tuple[str, str]] = field(default_factory=set)  # (trace id, evaluator name)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        resp = httpx.get(f"{self.url}{path}", params={**params, "format": "json"}, headers=self._headers(), timeout=30)
        if resp.status_code != 200:
            raise CliError(f"the collector answered {path} with {resp.status_code}: {resp.text[:300]}")
        body = resp.json()
        return body if isinstance(body, dict) else {}

    def _rows(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        body = self._get(path, params)
        return [dict(zip(body["columns"], r, strict=True)) for r in body["rows"]]

    def picked(self, trace_id: str) -> bool:
        return int(hashlib.sha256(trace_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < self.sample

    def once(self) -> int:
        """Score the new traces that match; how many scores were written."""
        from agentdeck.engine.evaluators import RunFacts

        for s in self._rows("/api/scores", {"since_ns": str(self.since_ns), "limit": "10000"}):
            self.scored.add((str(s["trace_id"]), str(s["name"])))
        traces = self._rows("/api/query/traces", {**self.filters, "start_ns": str(self.since_ns), "limit": "1000"})
        out: list[dict[str, Any]] = []
        for t in traces:
            trace_id = str(t["trace_id"])
            todo = [e for e in self.evaluators if (trace_id, e.name) not in self.scored]
            if not todo or not self.picked(trace_id):
                continue
            task_input, output = self._content(trace_id)
            facts = RunFacts(
                str(t.get("outcome") or ("success" if t.get("status") == "ok" else t.get("status"))),
                output,
                None,
                float(t.get("cost_usd") or 0.0),
                float(t.get("duration_ms") or 0.0),
                {"input": task_input},
            )
            for e in todo:
                score = e.score(facts)
                self.scored.add((trace_id, e.name))
                if score is not None:
                    out.append({"trace_id": trace_id, **score.to_json()})
        if out:
            resp = httpx.post(f"{self.url}/api/scores", json=out, headers=self._headers(), timeout=30)
            if resp.status_code != 200:
                raise CliError(f"the collector refused the scores ({resp.status_code}): {resp.text[:300]}")
        return len(out)

    def _content(self, trace_id: str) -> tuple[Any, Any]:
        """The trace's first input and last output messages (as stored), for evaluators that read them."""
        spans = self._rows("/api/query/trace", {"trace_id": trace_id})
        inputs = [s["input_messages"] for s in spans if s.get("input_messages")]
        outputs = sorted((s for s in spans if s.get("output_messages")), key=lambda s: int(s.get("end_ns") or 0))
        return (_loaded(inputs[0]) if inputs else None), (_loaded(outputs[-1]["output_messages"]) if outputs else None)


def _loaded(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def cmd_evaluator(args: argparse.Namespace) -> int:
    from agentdeck.engine.evaluators import parse_evaluator
    from agentdeck.engine.judge import DEFAULT_RUBRIC, default_judge

    if not 0.0 < args.sample <= 1.0:
        raise CliError("--sample is the share of traces to score, above 0 and at most 1 (e.g. 0.2)")
    if not args.interval > 0:
        raise CliError("--interval is a number of seconds above 0")
    try:
        evaluators = [parse_evaluator(e) for e in args.evaluator]
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.judge is not None:
        evaluators.append(default_judge(args.judge or DEFAULT_RUBRIC, args.judge_name).evaluator())
    if not evaluators:
        raise CliError("name at least one --evaluator (e.g. success, max-cost:0.01) or --judge RUBRIC")
    filters = {k: v for k, v in (("workflow", args.workflow), ("status", args.status), ("agent", args.agent)) if v}
    online = OnlineEvaluator(
        collector_url(args), collector_token(args), evaluators, filters, args.sample,
        since_ns=time.time_ns() - int(LOOKBACK_S * 1e9),
    )  # fmt: skip
    logging.getLogger("httpx").setLevel(logging.WARNING)
    while True:
        try:
            written = online.once()
        except httpx.HTTPError as exc:
            if args.once:
                raise CliError(f"no collector answers at {online.url} ({type(exc).__name__})") from None
            print(
                f"agentdeck evaluator: the collector did not answer ({type(exc).__name__}); retrying", file=sys.stderr
            )
            written = 0
        print(f"agentdeck evaluator: {written} score(s) written", file=sys.stderr)
        if args.once:
            return 0
        time.sleep(args.interval)


def register(sub: Any) -> None:
    p = sub.add_parser("evaluator", help="score a sample of new traces (code evaluators, an LLM judge), continuously")
    p.add_argument(
        "--evaluator",
        action="append",
        default=[],
        metavar="SPEC",
        help="success, regex:PATTERN, schema:MODULE:ATTR, max-cost:USD, max-latency-ms:MS; repeatable",
    )
    p.add_argument(
        "--judge",
        default=None,
        metavar="RUBRIC",
        help="also score with an LLM judge following this rubric (Anthropic with ANTHROPIC_API_KEY, "
        "else the offline simulator)",
    )
    p.add_argument("--judge-name", default="judge", help="the judge's score name (default: judge)")
    p.add_argument("--workflow", default=None, help="only traces of this workflow")
    p.add_argument("--status", default=None, help="only traces of this status (ok, error, incomplete, dead_letter)")
    p.add_argument("--agent", default=None, help="only traces in which this agent ran")
    p.add_argument("--sample", type=float, default=1.0, help="share of matching traces to score (default: 1)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between looks for new traces (default: 10)")
    p.add_argument("--once", action="store_true", help="score what is there once, then exit")
    add_collector_arguments(p)
    p.set_defaults(func=cmd_evaluator)
