"""The queue in PostgreSQL: procrastinate's schema (set up once, version-checked), enqueueing, and progress.

Every task is one procrastinate job on queue `agentdeck`, with the task id as its queueing lock (a
task already waiting is not queued twice) and as its lock (two jobs of one task never run at the same
time). Progress is read from the ledger, which every worker writes when a task ends, and from the
jobs' states, so a job that failed for good (not a task outcome: the worker could not run it) ends a
wait instead of hanging it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agentdeck.engine.checkpoints import advisory_lock
from agentdeck.engine.ledger import Ledger, TaskRecord
from agentdeck.engine.workers.tasks import TaskSpec

QUEUE = "agentdeck"
TASK_NAME = "agentdeck.run_task"
SCHEMA_VERSION = 1  # agentdeck_queue_schema.version this agentdeck writes and expects
_SETUP_LOCK = 4242003  # pg_advisory_lock key: one schema set-up at a time


class QueueError(Exception):
    """A user-facing problem with the PostgreSQL queue; the message says what to fix."""


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@contextmanager
def connect(url: str) -> Iterator[Any]:
    """A psycopg connection (autocommit), or QueueError saying PostgreSQL cannot be reached."""
    try:
        import psycopg
    except ImportError:
        raise QueueError("workers need the postgres extra: pip install 'agentdeck[postgres]'") from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except (psycopg.Error, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueueError(
            f"cannot reach PostgreSQL at {safe_url(url)} ({reason}): start it, or fix --postgres"
            " / AGENTDECK_POSTGRES_URL"
        ) from None
    with conn:
        yield conn


def _schema_state(conn: Any) -> int | None:
    """The queue schema's version; None for an empty database, 0 for queue tables set up without a
    version stamp or by an older procrastinate."""
    row = conn.execute(
        "SELECT to_regclass('agentdeck_queue_schema'), to_regclass('procrastinate_jobs'),"
        " to_regclass('procrastinate_workers'), to_regprocedure('procrastinate_retry_job_v2(bigint,"
        " timestamp with time zone,integer,character varying,character varying)')"
    ).fetchone()
    stamp, jobs, workers, retry_v2 = row
    if stamp is None:
        return None if jobs is None else 0
    version = conn.execute("SELECT max(version) FROM agentdeck_queue_schema").fetchone()[0]
    if workers is None or retry_v2 is None:
        return 0
    return int(version or 0)


def prepare_schema(url: str, *, upgrade: bool = False) -> None:
    """Set the queue up in an empty database; check the version of an existing one. An older schema is
    a QueueError that says how to upgrade (`upgrade=True` does it); its queued jobs are kept."""
    from procrastinate.schema import SchemaManager

    with connect(url) as conn, advisory_lock(conn, _SETUP_LOCK):
        version = _schema_state(conn)
        if version is None:
            conn.execute(SchemaManager.get_schema())
            _stamp(conn)
        elif version < SCHEMA_VERSION:
            if not upgrade:
                raise QueueError(
                    f"the queue in PostgreSQL at {safe_url(url)} has schema version {version}, older than this "
                    f"agentdeck's ({SCHEMA_VERSION}); queued tasks are kept: upgrade it with "
                    f"`agentdeck worker --postgres URL --upgrade-schema`, then start the workers"
                )
            _upgrade(conn, url)
        elif version > SCHEMA_VERSION:
            raise QueueError(
                f"the queue in PostgreSQL at {safe_url(url)} has schema version {version}, newer than this "
                f"agentdeck's ({SCHEMA_VERSION}): upgrade agentdeck on this machine"
            )


def _stamp(conn: Any) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS agentdeck_queue_schema (version INTEGER NOT NULL)")
    conn.execute("DELETE FROM agentdeck_queue_schema")
    conn.execute("INSERT INTO agentdeck_queue_schema VALUES (%s)", (SCHEMA_VERSION,))


def _upgrade(conn: Any, url: str) -> None:
    """Version 0 -> 1: the procrastinate schema must already be the installed procrastinate's (its own
    migrations upgrade it); then agentdeck stamps it. Jobs are untouched."""
    row = conn.execute(
        "SELECT to_regclass('procrastinate_workers'), to_regprocedure('procrastinate_retry_job_v2(bigint,"
        " timestamp with time zone,integer,character varying,character varying)')"
    ).fetchone()
    if None in row:
        raise QueueError(
            f"the procrastinate tables in PostgreSQL at {safe_url(url)} predate procrastinate 3.4: apply "
            "procrastinate's migrations (`procrastinate schema --migrate` lists them), then run --upgrade-schema again"
        )
    _stamp(conn)


def make_app(url: str) -> Any:
    """A procrastinate App on `url` (open it with `app.open_async()`)."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))


@dataclass
class EnqueueReport:
    queued: list[str]
    already_queued: list[str]  # waiting or running: not queued twice
    already_done: list[str]  # the ledger has their outcome: not run again


def enqueue(url: str, specs: Sequence[TaskSpec]) -> EnqueueReport:
    """Queue the tasks that are neither finished nor already waiting or running. (Two enqueuers racing
    on one task are stopped by the queueing lock; a job queued while another runs the task waits for
    the task's lock, then finds its outcome in the ledger and does not run it again.)"""
    prepare_schema(url)
    with Ledger(url) as ledger:
        done = {r.task_id for r in ledger.tasks(task_ids=[s.task_id for s in specs], limit=len(specs) + 1)}
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT lock FROM procrastinate_jobs WHERE lock = ANY(%s) AND status IN ('todo', 'doing')",
            ([s.task_id for s in specs if s.task_id not in done],),
        ).fetchall()
    waiting = {r[0] for r in rows}
    report = EnqueueReport([], sorted(waiting), sorted(done))
    todo = [s for s in specs if s.task_id not in done and s.task_id not in waiting]
    asyncio.run(_defer(url, todo, report))
    return report


async def _defer(url: str, specs: Sequence[TaskSpec], report: EnqueueReport) -> None:
    from procrastinate import exceptions

    app = make_app(url)
    async with app.open_async():
        for spec in specs:
            deferrer = app.configure_task(TASK_NAME, queue=QUEUE, lock=spec.task_id, queueing_lock=spec.task_id)
            try:
                await deferrer.defer_async(**spec.payload())
            except exceptions.AlreadyEnqueued:
                report.already_queued.append(spec.task_id)
            else:
                report.queued.append(spec.task_id)


@dataclass
class Progress:
    records: list[TaskRecord]  # tasks with an outcome
    lost: dict[str, str]  # task id -> job status, for tasks whose job ended without an outcome (failed)
    pending: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


def progress(url: str, task_ids: Sequence[str]) -> Progress:
    """Where the tasks are: ended (ledger), given up by the queue, or still waiting/running."""
    with Ledger(url) as ledger:
        records = ledger.tasks(task_ids=task_ids, limit=len(task_ids) + 1)
    ended = {r.task_id for r in records}
    open_ids = [t for t in task_ids if t not in ended]
    lost: dict[str, str] = {}
    if open_ids:
        with connect(url) as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (lock) lock, status FROM procrastinate_jobs WHERE lock = ANY(%s)"
                " ORDER BY lock, id DESC",
                (open_ids,),
            ).fetchall()
        lost = {lock: status for lock, status in rows if status in ("failed", "cancelled", "aborted")}
    return Progress(records, lost, len(open_ids) - len(lost))
