"""Attribute keys: the one place where span attribute names are spelled.

The engine writes these; the collector reads them (and the third-party conventions below).
OTel GenAI names are used wherever one exists; `agentdeck.*` and `langgraph.*` hold the rest.
docs/ARCHITECTURE.md ("Conventions") says what producers really send and how each is read.
"""

from __future__ import annotations

from typing import Final

# --- OTel GenAI (semantic-conventions-genai) -------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # deprecated spelling of provider.name; still read
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"  # includes cache read + creation
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"  # includes reasoning
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"  # deprecated
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"  # deprecated
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"  # de facto, USD
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
ERROR_TYPE: Final = "error.type"
USER_ID: Final = "user.id"
SERVICE_NAME: Final = "service.name"

# gen_ai.operation.name values
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

# --- LangGraph execution info (from get_runtime().execution_info) ----------------------------
LANGGRAPH_THREAD_ID: Final = "langgraph.thread_id"
LANGGRAPH_CHECKPOINT_ID: Final = "langgraph.checkpoint_id"
LANGGRAPH_CHECKPOINT_NS: Final = "langgraph.checkpoint_ns"
LANGGRAPH_TASK_ID: Final = "langgraph.task_id"
LANGGRAPH_NODE: Final = "langgraph.node"
LANGGRAPH_STEP: Final = "langgraph.step"

# --- agentdeck engine extras -----------------------------------------------------------------
AD_ATTEMPT: Final = "agentdeck.attempt"  # 1-based attempt of an agent step
AD_RETRY_REASON: Final = "agentdeck.retry_reason"  # why this attempt happened: RETRY_REASONS
AD_TASK_ID: Final = "agentdeck.task.id"  # one task = one workflow run = one trace
AD_TASK_OUTCOME: Final = "agentdeck.task.outcome"  # TASK_OUTCOMES, on the workflow span
AD_TASK_INCOMPLETE_REASON: Final = "agentdeck.task.incomplete_reason"
AD_AGENT_ROLE: Final = "agentdeck.agent.role"
AD_AGENT_OPTIONAL: Final = "agentdeck.agent.optional"
AD_AGENT_SKIPPED: Final = "agentdeck.agent.skipped"  # reason an optional agent was skipped
AD_MODEL_TIER: Final = "agentdeck.model.tier"  # fast | balanced | frontier
AD_ROUTING_REASON: Final = "agentdeck.routing.reason"  # why the tier changed (budget, deadline)
AD_PROMPT_VERSION: Final = "agentdeck.prompt.version"
AD_PROMPT_TEMPLATE: Final = "agentdeck.prompt.template"
AD_BUDGET_LIMIT_USD: Final = "agentdeck.budget.limit_usd"
AD_BUDGET_SPENT_USD: Final = "agentdeck.budget.spent_usd"
AD_BUDGET_REMAINING_USD: Final = "agentdeck.budget.remaining_usd"
AD_DEADLINE_MS: Final = "agentdeck.deadline.ms"
AD_CACHE_HIT: Final = "agentdeck.cache.hit"
AD_REPLAY_OF: Final = "agentdeck.replay_of"  # trace id of the original run
AD_REPLAY_OF_CHECKPOINT: Final = "agentdeck.replay_of.checkpoint_id"
AD_REPLAY_SERVED_FROM_RECORD: Final = "agentdeck.replay.served_from_record"
AD_EXPERIMENT_NAME: Final = "agentdeck.experiment.name"  # on an experiment run's workflow span
AD_DATASET_NAME: Final = "agentdeck.dataset.name"  # the dataset (and version) the run's item belongs to
AD_DATASET_VERSION: Final = "agentdeck.dataset.version"
AD_DATASET_ITEM_ID: Final = "agentdeck.dataset.item_id"
AD_DEAD_LETTER: Final = "agentdeck.dead_letter"
AD_CIRCUIT_STATE: Final = "agentdeck.circuit.state"
AD_DELEGATION_DEPTH: Final = "agentdeck.delegation.depth"
AD_ITERATION: Final = "agentdeck.iteration"
AD_STATE_CONFLICTS: Final = "agentdeck.state.conflicts"
AD_MESSAGES: Final = "agentdeck.messages"  # messages exchanged in a task (on the workflow span)
AD_SIMULATED_FAULT: Final = "agentdeck.simulator.fault"
MCP_SERVER_NAME: Final = "agentdeck.mcp.server"  # the MCP server that served an execute_tool span
MCP_TRANSPORT: Final = "agentdeck.mcp.transport"  # stdio | streamable_http, on MCP execute_tool spans
MCP_METHOD_NAME: Final = "mcp.method.name"  # OTel MCP semconv: tools/call

RETRY_REASONS: Final = ("validation", "rate_limit", "timeout", "server_error", "malformed_output")
TASK_OUTCOMES: Final = ("success", "incomplete", "dead_letter", "failed")
PROVIDER_SIMULATED: Final = "simulated"
PROVIDER_ANTHROPIC: Final = "anthropic"
ENGINE_SCOPE: Final = "agentdeck.engine"

# --- OpenInference (Arize) -------------------------------------------------------------------
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_LLM_MODEL_NAME: Final = "llm.model_name"
OI_LLM_REQUEST_MODEL_NAME: Final = "llm.request.model_name"
OI_LLM_RESPONSE_MODEL_NAME: Final = "llm.response.model_name"
OI_LLM_PROVIDER: Final = "llm.provider"
OI_LLM_SYSTEM: Final = "llm.system"
OI_TOKEN_PROMPT: Final = "llm.token_count.prompt"
OI_TOKEN_COMPLETION: Final = "llm.token_count.completion"
OI_TOKEN_TOTAL: Final = "llm.token_count.total"
OI_TOKEN_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
OI_TOKEN_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
OI_TOKEN_REASONING: Final = "llm.token_count.completion_details.reasoning"
OI_COST_PROMPT: Final = "llm.cost.prompt"
OI_COST_COMPLETION: Final = "llm.cost.completion"
OI_COST_TOTAL: Final = "llm.cost.total"
OI_INPUT_VALUE: Final = "input.value"
OI_OUTPUT_VALUE: Final = "output.value"
OI_INPUT_MESSAGES_PREFIX: Final = "llm.input_messages."
OI_OUTPUT_MESSAGES_PREFIX: Final = "llm.output_messages."
OI_TOOL_NAME: Final = "tool.name"
OI_SESSION_ID: Final = "session.id"
OI_USER_ID: Final = "user.id"
OI_METADATA: Final = "metadata"

# --- OpenLLMetry (traceloop) -----------------------------------------------------------------
TL_SPAN_KIND: Final = "traceloop.span.kind"
TL_ENTITY_NAME: Final = "traceloop.entity.name"
TL_WORKFLOW_NAME: Final = "traceloop.workflow.name"
TL_ENTITY_PATH: Final = "traceloop.entity.path"
TL_ENTITY_INPUT: Final = "traceloop.entity.input"
TL_ENTITY_OUTPUT: Final = "traceloop.entity.output"
TL_ASSOCIATION_PREFIX: Final = "traceloop.association.properties."

# The anthropic SDK 2.x's own span for each call (counted once next to an instrumentor's span).
ANTHROPIC_SDK_SCOPE: Final = "com.anthropic.sdk.python"
ANTHROPIC_SDK_SPAN_NAME: Final = "anthropic.messages.create"

# --- appended by the collector: spellings seen in real payloads ------------------------------
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"  # anthropic SDK 2.x
GEN_AI_PROMPT_PREFIX: Final = "gen_ai.prompt."  # OpenLLMetry legacy content: gen_ai.prompt.N.role/content
GEN_AI_COMPLETION_PREFIX: Final = "gen_ai.completion."
TL_LLM_REQUEST_TYPE: Final = "llm.request.type"  # OpenLLMetry LLM spans (chat, completion, ...)
TL_USAGE_TOTAL_TOKENS: Final = "llm.usage.total_tokens"  # OpenLLMetry
EXCEPTION_TYPE: Final = "exception.type"  # on the `exception` span event
EXCEPTION_EVENT: Final = "exception"
OI_LANGGRAPH_NODE: Final = "langgraph_node"  # key inside OpenInference `metadata` JSON

# --- appended by the engine ------------------------------------------------------------------
AD_BUDGET_FRACTION: Final = "agentdeck.budget.fraction"  # on agentdeck.budget.threshold events
AD_WORKFLOW_RESULT: Final = "agentdeck.task.result"  # JSON of the task's final answer (workflow span)
AD_DEAD_LETTER_ID: Final = "agentdeck.dead_letter.id"
AD_FALLBACK_FOR: Final = "agentdeck.fallback_for"  # on a fallback agent's spans: the agent it replaces
AD_EVENT_TYPE: Final = "agentdeck.event.type"  # event-driven workflows: the bus event handled
EVENT_BUDGET_THRESHOLD: Final = "agentdeck.budget.threshold"
EVENT_VALIDATION_FAILED: Final = "agentdeck.validation.failed"
EVENT_DELEGATION: Final = "agentdeck.delegation"
EVENT_STATE_CONFLICT: Final = "agentdeck.state.conflict"
AD_RESUMED_FROM: Final = "agentdeck.resumed_from"  # trace id of the killed run a task resumed from
EVENT_HANDLED: Final = "agentdeck.event.handled"  # event-driven workflows: a bus event was handled

# --- appended by the LangGraph adapter (agentdeck.langgraph) ----------------------------------
AD_PROMPTS: Final = "agentdeck.prompts"  # JSON {name: default} of the prompts a task read (workflow span)
AD_TASK_STATUS: Final = "agentdeck.task.status"  # waiting_review: paused for a human, not an outcome
STATUS_WAITING_REVIEW: Final = "waiting_review"
EVENT_REVIEW_REQUESTED: Final = "agentdeck.review.requested"  # on the workflow span: a step escalated
AD_REVIEW_ID: Final = "agentdeck.review.id"
AD_REVIEW_REASON: Final = "agentdeck.review.reason"  # why the step escalated
AD_REVIEW_DECISION: Final = "agentdeck.review.decision"  # approved | edited | rejected
AD_REVIEW_BY: Final = "agentdeck.review.by"  # who decided
AD_REVIEW_OUTPUT: Final = "agentdeck.review.output"  # JSON of the answer the task continues with
AD_REVIEW_WAIT_MS: Final = "agentdeck.review.wait_ms"  # from the request to the decision
OP_REVIEW: Final = "review"  # gen_ai.operation.name of the `review {agent}` span (the wait and the decision)
AD_CACHE_KIND: Final = "agentdeck.cache.kind"  # exact | semantic, on chat spans served from a cache
AD_CACHE_SIMILARITY: Final = "agentdeck.cache.similarity"  # semantic hit: cosine similarity to the stored request
AD_CACHE_SAVED_INPUT_TOKENS: Final = "agentdeck.cache.saved.input_tokens"
AD_CACHE_SAVED_OUTPUT_TOKENS: Final = "agentdeck.cache.saved.output_tokens"
AD_CACHE_SAVED_USD: Final = "agentdeck.cache.saved.cost_usd"  # what the served answer cost when it was made
