"""A worker: runs queued tasks with the engine, `concurrency` at a time, and takes over stalled ones.

Each worker sends a heartbeat every lease/3 seconds (procrastinate's). Every worker, every lease/3
seconds, hands the tasks of workers whose heartbeat is older than the lease back to the queue; the
next free worker resumes each from its last checkpoint (LangGraph's PostgresSaver), so a worker killed
with SIGKILL costs at most its unfinished steps, and its tasks start again within about
lease + lease/3 + 1 s (30 s lease: about 41 s). The first Ctrl-C (or SIGTERM) stops taking tasks and
finishes the current ones; a second hands them back to the queue at once and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from agentdeck.engine.checkpoints import open_checkpointer
from agentdeck.engine.execution import Engine, TaskResult
from agentdeck.engine.ledger import Ledger, TaskRecord
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.review import ReviewQueue
from agentdeck.engine.runner import default_provider, make_engine, run_one
from agentdeck.engine.telemetry import make_tracer_provider
from agentdeck.engine.workers.queue import QUEUE, TASK_NAME, make_app, prepare_schema
from agentdeck.engine.workers.settings import WorkerSettings
from agentdeck.engine.workers.tasks import TaskSpec
from agentdeck.engine.workflow import Workflow
from agentdeck.engine.workflows import get_workflow
from agentdeck.refs import RefError

ENGINES_KEPT = 32  # engines (compiled graphs) kept for runs with other options
POLL_S = 1.0  # longest wait before a worker looks for tasks handed back (new tasks are notified at once)


class TaskRunner:
    """Runs one task spec to its outcome in a worker thread. One checkpointer (a pool of `concurrency`
    connections) and one ledger connection serve every run; an Engine (a compiled graph and the run's
    options) is kept per (workflow, options), the most recent ENGINES_KEPT of them."""

    def __init__(self, settings: WorkerSettings, tracer_provider: TracerProvider) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self._stack = ExitStack()
        self._ledger = self._stack.enter_context(Ledger(settings.postgres_url))
        self._reviews = self._stack.enter_context(ReviewQueue(settings.postgres_url))
        self._saver = self._stack.enter_context(
            open_checkpointer(settings.postgres_url, pool_size=settings.concurrency)
        )
        self._engines: OrderedDict[tuple[str, str], Engine] = OrderedDict()
        self._engines_lock = threading.Lock()

    def run(self, spec: TaskSpec) -> TaskResult:
        try:
            wf = get_workflow(spec.workflow)
        except (RefError, ValueError) as exc:
            return self._dead_letter_unloadable(spec, exc)
        if wf.make_tasks is None:  # task_specs refuses to queue these; a changed workflow could still get here
            return self._dead_letter_unloadable(spec, ValueError(f"workflow {wf.name} makes no tasks of its own"))
        engine = self._engine(wf, spec)
        initial = wf.make_tasks(spec.options.seed, spec.index + 1)[spec.index]
        return run_one(engine, spec.index, spec.task_id, initial)

    def _engine(self, wf: Workflow, spec: TaskSpec) -> Engine:
        key = (spec.workflow, json.dumps(spec.payload()["options"], sort_keys=True))
        with self._engines_lock:
            engine = self._engines.pop(key, None)
            if engine is None:
                opts = spec.options
                engine = make_engine(
                    wf,
                    opts,
                    saver=self._saver,
                    ledger=self._ledger,
                    tracer_provider=self.tracer_provider,
                    provider=default_provider(opts.seed, FaultRates.realistic().with_chaos(opts.chaos)),
                    flush_each_task=True,
                    reviews=self._reviews,
                )
            self._engines[key] = engine  # most recently used last
            while len(self._engines) > ENGINES_KEPT:
                self._engines.popitem(last=False)
            return engine

    def _dead_letter_unloadable(self, spec: TaskSpec, exc: Exception) -> TaskResult:
        """A workflow this worker cannot import (or run from a queued task): the task goes to the dead-letter
        queue with the reason, once, and the job ends (it would fail the same way on every retry)."""
        detail = f"cannot load workflow {spec.workflow!r} on this worker: {exc}"
        self._ledger.dead_letter(
            created_ns=time.time_ns(),
            workflow=spec.workflow,
            task_id=spec.task_id,
            thread_id=spec.task_id,
            trace_id="",
            checkpoint_id=None,
            agent=None,
            node=None,
            error_type="WorkflowNotLoadable",
            error=detail,
            attempts=1,
            failing_input=json.dumps(spec.payload()),
            state_snapshot={},
        )
        self._ledger.record_task(TaskRecord(spec.task_id, spec.workflow, spec.task_id, "", "dead_letter", 0.0, detail))
        return TaskResult(spec.task_id, "", spec.task_id, spec.workflow, "dead_letter", 0.0, detail)

    def close(self) -> None:
        self._stack.close()


def run_worker(settings: WorkerSettings, on_result: Callable[[TaskResult], None] | None = None) -> int:
    """Run until stopped (SIGINT/SIGTERM); 0 after finishing current tasks, 130 after handing them back.
    QueueError (before anything runs) when PostgreSQL cannot be reached or its schema is older."""
    if settings.concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {settings.concurrency}")
    if settings.lease_s < 1:
        raise ValueError(f"the lease must be at least 1 s, got {settings.lease_s}")
    prepare_schema(settings.postgres_url)
    tp = make_tracer_provider(settings.endpoint)
    runner = TaskRunner(settings, tp)
    try:
        return asyncio.run(_serve(settings, runner, on_result))
    finally:
        runner.close()
        tp.shutdown()


async def _serve(settings: WorkerSettings, runner: TaskRunner, on_result: Callable[[TaskResult], None] | None) -> int:
    from procrastinate import RetryStrategy
    from procrastinate.worker import Worker

    app = make_app(settings.postgres_url)
    executor = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="agentdeck-worker")
    running: dict[int, Any] = {}  # job id -> procrastinate Job, for the hand-back

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=True, retry=RetryStrategy(max_attempts=5, wait=2))
    async def run_task(context: Any, **payload: Any) -> str:
        spec = TaskSpec.from_payload(payload)
        running[context.job.id] = context.job
        try:
            result = await asyncio.get_running_loop().run_in_executor(executor, runner.run, spec)
        finally:
            running.pop(context.job.id, None)
        if on_result is not None:
            on_result(result)
        return result.outcome

    loop = asyncio.get_running_loop()
    stops = 0
    background: list[asyncio.Task[None]] = []
    handed_back = asyncio.Event()
    async with app.open_async():
        worker = Worker(
            app,
            queues=[QUEUE],
            name=settings.name,
            concurrency=settings.concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=settings.lease_s / 3,
            stalled_worker_timeout=settings.lease_s,
            fetch_job_polling_interval=POLL_S,
        )

        async def hand_back() -> None:
            for job in list(running.values()):
                try:
                    await app.job_manager.retry_job(job)
                except Exception as exc:  # another worker's recovery got there first
                    print(f"agentdeck worker: could not hand back task {job.lock}: {exc}", file=sys.stderr)
            handed_back.set()

        def on_signal() -> None:
            nonlocal stops
            stops += 1
            if stops == 1:
                print(
                    f"agentdeck worker: finishing {len(running)} running task(s); Ctrl-C again hands them back",
                    file=sys.stderr,
                    flush=True,
                )
                worker.stop()
            elif not handed_back.is_set() and not background:
                background.append(loop.create_task(hand_back()))

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        recovery = asyncio.create_task(_recover_stalled(app, settings.lease_s))
        serving = asyncio.create_task(worker.run())
        try:
            await asyncio.wait({serving, asyncio.create_task(handed_back.wait())}, return_when="FIRST_COMPLETED")
            if handed_back.is_set():
                print(f"agentdeck worker: handed {len(running)} task(s) back to the queue", file=sys.stderr, flush=True)
                runner.tracer_provider.force_flush(2000)
                os._exit(130)  # the running steps stop here; the tasks resume from their checkpoints elsewhere
            serving.result()
        finally:
            recovery.cancel()
            executor.shutdown(wait=True)
    return 0


async def _recover_stalled(app: Any, lease_s: float) -> None:
    """Every lease/3 s: put the tasks of workers silent for longer than the lease back in the queue."""
    while True:
        await asyncio.sleep(lease_s / 3)
        try:
            for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=lease_s):
                await _requeue(app, job)
        except Exception as exc:  # PostgreSQL away for a moment: try again next round
            print(f"agentdeck worker: stalled-task check failed: {exc}", file=sys.stderr, flush=True)


async def _requeue(app: Any, job: Any) -> None:
    """Back to the queue; when another job of the same task already waits there (queued again while
    this one ran), that one resumes the task and this one is closed."""
    from procrastinate import exceptions, jobs

    try:
        await app.job_manager.retry_job(job)
    except exceptions.UniqueViolation:  # the queueing lock: a job of this task waits already
        await app.job_manager.finish_job(job, status=jobs.Status.ABORTED, delete_job=False)
        print(f"agentdeck worker: task {job.lock} of a stopped worker is already queued again", file=sys.stderr)
    except exceptions.ConnectorException as exc:
        if "not found" not in str(exc):
            raise
        return  # another worker requeued it first
    else:
        print(f"agentdeck worker: resuming task {job.lock} of a worker that stopped", file=sys.stderr, flush=True)
