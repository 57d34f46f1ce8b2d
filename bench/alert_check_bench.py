"""A heavy one-shot alert check at full size (issue 18, item 3): its time, the collector's peak
memory, and a SIGTERM in the middle of it, for two builds in the same run.

    .venv/bin/python bench/alert_check_bench.py --spans 1000000 --rules 100 --check-timeout-s 10 \\
        --before-python /work/main/.venv/bin/python --before-repo /work/main

The store is the query benchmark's cached file (`query_bench.build_file`). The rules are copies of
the shipped default rules under new names, each over `--window` (default 30d: the whole file).
Per build: start the collector on a copy of the file, POST the rules to /api/alerts/check and time
it (peak RSS from /proc), then POST it again and send SIGTERM after `--kill-after-s`: the exit code
and the check's answer are reported (a process killed by SIGABRT exits -6).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from query_contention import add_build_arguments, builds, cached_store, start  # noqa: E402


def rules_file(count: int, window: str) -> bytes:
    text = (REPO / "collector" / "alerts" / "default_rules.toml").read_text(encoding="utf-8")
    text = re.sub(r'^window = "[^"]+"', f'window = "{window}"', text, flags=re.MULTILINE)
    blocks = ["[[rules]]" + b for b in text.split("[[rules]]")[1:]]
    renamed = [
        re.sub(r'name = "([^"]+)"', lambda m, i=i: f'name = "{m.group(1)}-{i}"', blocks[i % len(blocks)], count=1)
        for i in range(count)
    ]
    return "\n".join(renamed).encode()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(status: int, text: str) -> dict[str, object]:
    try:
        body = json.loads(text)
    except ValueError:
        return {"status": status, "text": text[:120]}
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return {
        "status": status,
        "rules_evaluated": body.get("rules_evaluated") if isinstance(body, dict) else None,
        "not_evaluated": sum(1 for e in errors if str(e.get("error", "")).startswith("not evaluated")),
        "error": body.get("error") if isinstance(body, dict) else None,
    }


def one_build(python: str, repo: Path, cached: Path, rules: bytes, args: argparse.Namespace) -> dict[str, object]:
    env = {"AGENTDECK_COLLECTOR_CHECK_TIMEOUT_S": str(args.check_timeout_s)}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        shutil.copy(cached, db)
        proc, url = start(python, repo, db, env, stderr=subprocess.PIPE)
        t = time.perf_counter()
        r = httpx.post(url + "/api/alerts/check", content=rules, timeout=900)
        took = time.perf_counter() - t
        out: dict[str, object] = {"check_s": round(took, 1), "peak_rss_mib": round(peak_rss_mib(proc.pid))}
        out["check"] = summary(r.status_code, r.text)
        answer: dict[str, object] = {}

        def again() -> None:
            try:
                resp = httpx.post(url + "/api/alerts/check", content=rules, timeout=900)
                answer.update(summary(resp.status_code, resp.text))
            except httpx.HTTPError as exc:
                answer["status"] = type(exc).__name__

        th = threading.Thread(target=again)
        th.start()
        time.sleep(args.kill_after_s)
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        th.join(120)
        out["sigterm_exit"] = proc.returncode
        out["sigterm_check"] = answer
        out["sigterm_stderr_tail"] = err.strip().splitlines()[-1:] if err.strip() else []
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=40)
    parser.add_argument("--window", default="30d", help="every rule's window (the file spans 30 days)")
    parser.add_argument("--check-timeout-s", type=float, default=10.0)
    parser.add_argument("--kill-after-s", type=float, default=3.0)
    add_build_arguments(parser)
    args = parser.parse_args()
    cached = cached_store(args)
    rules = rules_file(args.rules, args.window)
    report = {label: one_build(python, repo, cached, rules, args) for label, python, repo in builds(args)}
    print(json.dumps({"spans": args.spans, "rules": args.rules, **report}, indent=2))


if __name__ == "__main__":
    main()
