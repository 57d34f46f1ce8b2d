"""A customer-support graph written with plain LangGraph and the anthropic SDK, traced by agentdeck."""
