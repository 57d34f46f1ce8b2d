"""Which collector evaluates the alert rules: a fenced lease in ClickHouse.

ClickHouse has no compare-and-set, so a collector claims the lease by writing a row (itself, a new
random token, an expiry) at a version above the current one into a ReplacingMergeTree, then
re-reads the winner with `FINAL` (and `select_sequential_consistency`): it holds the lease only
when the row read back carries its own token. Two collectors claiming at the same moment both
read back the same highest-version row, so at most one believes it won. A claim is made only when
the lease is free or expired, or by its holder (a renewal, every evaluation round).

The token fences the holder's work: it checks `holds()` (a fresh read) before each round, and the
alert transitions are idempotent (the same transition applied twice changes nothing more), so the
few seconds in which a deposed holder may still finish a round do no harm.

Failover: a holder that dies stops renewing; the lease expires `ttl_s` after its last renewal and
the next collector's round claims it. With the collector's alert interval `I` and `ttl_s = 3 I`,
another collector takes over at most `3 I + I` after the holder died (60 s at the default 15 s).
"""

from __future__ import annotations

import time
import uuid
from typing import Final

from agentdeck.collector.store.clickhouse.client import Client

LEASE: Final = "alerts"
_SETTINGS: Final = {"select_sequential_consistency": 1}


class AlertLease:
    def __init__(self, client: Client, holder: str, ttl_s: float, *, consistent: bool = True) -> None:
        self.client = client
        self.holder = holder
        self.ttl_ns = int(ttl_s * 1e9)
        self.token: str | None = None  # the fence: set while this collector holds the lease
        self._settings = _SETTINGS if consistent else None

    def _current(self) -> tuple[str, str, int, int] | None:
        table = self.client.query_arrow(
            "SELECT holder, token, expires_ns, version FROM alert_lease FINAL WHERE name = {n:String}",
            {"n": LEASE},
            settings=self._settings,
        )
        if not table.num_rows:
            return None
        row = table.to_pylist()[0]
        return str(row["holder"]), str(row["token"]), int(row["expires_ns"]), int(row["version"])

    def acquire(self, now_ns: int | None = None) -> bool:
        """Claim or renew the lease; True when this collector holds it now."""
        now = time.time_ns() if now_ns is None else now_ns
        current = self._current()
        if current is not None:
            holder, token, expires, _ = current
            if holder != self.holder and expires > now:
                self.token = None
                return False
        token = uuid.uuid4().hex
        version = max(time.time_ns(), (current[3] + 1) if current else 0)
        self.client.command(
            "INSERT INTO alert_lease (name, holder, token, expires_ns, version) "
            "VALUES ({n:String}, {h:String}, {t:String}, {e:Int64}, {v:UInt64})",
            {"n": LEASE, "h": self.holder, "t": token, "e": now + self.ttl_ns, "v": version},
        )
        read = self._current()
        self.token = token if read is not None and read[1] == token else None
        return self.token is not None

    def holds(self) -> bool:
        """A fresh read: does this collector's token still hold the lease?"""
        current = self._current()
        return self.token is not None and current is not None and current[1] == self.token

    def release(self) -> None:
        """Give the lease up at shutdown, so another collector takes over at its next round."""
        if self.holds():
            self.client.command(
                "INSERT INTO alert_lease (name, holder, token, expires_ns, version) "
                "VALUES ({n:String}, '', '', 0, {v:UInt64})",
                {"n": LEASE, "v": time.time_ns()},
            )
        self.token = None
