"""agentdeck's orchestration engine: multi-agent LangGraph workflows, traced with OpenTelemetry.

Entry points:
  engine.runner.run_tasks(workflow, tasks, ...)   run seeded tasks of a workflow (`agentdeck run`)
  engine.workflows.WORKFLOWS                       the example workflows by name
  engine.replay.replay(thread_id, ...)             re-run a task from a checkpoint (edited prompts/state)
  engine.samples.write_sample_traces(path, ...)    reproducible OTLP sample traces
  engine.telemetry.make_tracer_provider(...)       the OTel SDK provider (OTLP/HTTP protobuf)
"""
