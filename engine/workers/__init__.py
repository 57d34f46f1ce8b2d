"""Scale-out: many workers sharing one PostgreSQL, on procrastinate (a PostgreSQL task queue).

`agentdeck run WORKFLOW --postgres URL` enqueues tasks (`queue.enqueue`); `agentdeck worker --postgres
URL` runs them (`worker.run_worker`) with the same engine as a local run, its checkpoints (LangGraph's
PostgresSaver), ledger, budget state and prompt versions in that PostgreSQL. A worker that stops
sending heartbeats for a lease loses its tasks to the others, which resume them from their last
checkpoint. See docs/SCALING.md.
"""
