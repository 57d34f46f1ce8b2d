"""Small plain LangGraph graphs for the adapter tests: a LangChain chat model and the anthropic SDK.

`Echo` is a real `BaseChatModel` subclass that answers from the prompt and reports usage_metadata, so
the callbacks path runs without a network; the anthropic SDK talks to the local fake Messages API.
"""

from __future__ import annotations

from typing import Any, TypedDict

import anthropic
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

import agentdeck
from agentdeck.langgraph import instrument

PLAN_PROMPT = "Plan the work for: {topic}"
ACT_SYSTEM = 'Do it. Reply with JSON {"reply": "..."}'


class Echo(BaseChatModel):
    """Answers `echo: <last message>` and reports 10 input / 3 output tokens."""

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        text = f"echo: {messages[-1].content}"
        message = AIMessage(
            content=text,
            usage_metadata={"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
            response_metadata={"model_name": "claude-haiku-4-5", "finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class Flaky(Exception):
    """Raised by the first attempt of `act`, which its retry policy retries."""


class State(TypedDict, total=False):
    topic: str
    plan: str
    reply: str


def plan(state: State) -> State:
    return {"plan": str(Echo().invoke(agentdeck.prompt("plan", PLAN_PROMPT).format(topic=state["topic"])).content)}


def make_act(base_url: str, fail_first: bool) -> Any:
    attempts = {"n": 0}

    def act(state: State) -> State:
        attempts["n"] += 1
        if fail_first and attempts["n"] == 1:
            raise Flaky("first attempt fails")
        client = anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0)
        response = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=200,
            system=[{"type": "text", "text": agentdeck.prompt("act", ACT_SYSTEM)}],
            messages=[{"role": "user", "content": state["plan"]}],
        )
        return {"reply": "".join(b.text for b in response.content if b.type == "text")}

    return act


def builder(base_url: str, *, fail_first: bool = True) -> StateGraph[State]:
    g = StateGraph(State)
    g.add_node("plan", plan)
    g.add_node("act", make_act(base_url, fail_first), retry_policy=RetryPolicy(retry_on=Flaky, initial_interval=0))
    g.add_edge(START, "plan")
    g.add_edge("plan", "act")
    g.add_edge("act", END)
    return g


class AState(TypedDict, total=False):
    question: str
    answer: str


def async_builder(base_url: str) -> StateGraph[AState]:
    async def answer(state: AState) -> AState:
        client = anthropic.AsyncAnthropic(api_key="test", base_url=base_url, max_retries=0)
        response = await client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            system=[{"type": "text", "text": ACT_SYSTEM}],
            messages=[{"role": "user", "content": state["question"]}],
        )
        return {"answer": "".join(b.text for b in response.content if b.type == "text")}

    g = StateGraph(AState)
    g.add_node("answer", answer)
    g.add_edge(START, "answer")
    g.add_edge("answer", END)
    return g


# instrumented at module level, as an app does: its reference is found from where instrument() was called
module_graph = instrument(builder("http://127.0.0.1:9").compile())
# compiled without a checkpointer: its threads cannot be replayed, and replay says so
no_checkpointer = builder("http://127.0.0.1:9").compile()
