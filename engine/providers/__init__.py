"""LLM providers: the protocol, the offline simulator (default) and Anthropic."""

from agentdeck.engine.providers.base import (
    LLMRequest,
    LLMResponse,
    Message,
    Provider,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    ServerError,
    ToolCall,
    Usage,
)

__all__ = [
    "LLMRequest",
    "LLMResponse",
    "Message",
    "Provider",
    "ProviderError",
    "ProviderTimeout",
    "RateLimited",
    "ServerError",
    "ToolCall",
    "Usage",
]
