"""agentdeck's orchestration engine: multi-agent LangGraph workflows, traced with OpenTelemetry.

Entry points:
  agentdeck.engine.runner.run_tasks(workflow, tasks, ...)   run seeded tasks of a workflow (`agentdeck run`)
  agentdeck.engine.workflows.WORKFLOWS                       the example workflows by name
  agentdeck.engine.workflows.get_workflow(ref)               a workflow by name or MODULE:ATTR reference
  agentdeck.engine.patterns                                  the six patterns as builders for your own agents
  agentdeck.engine.replay.fork.replay(thread_id, ...)        re-run a task from a checkpoint (edited prompts/state)
  agentdeck.engine.samples.write_sample_traces(path, ...)    reproducible OTLP sample traces
  agentdeck.engine.telemetry.make_tracer_provider(...)       the OTel SDK provider (OTLP/HTTP protobuf)
"""
