"""The six pattern builders (agentdeck.engine.patterns) with a user's own agents: what each runs, in
which order, where it stops, and what each mistake in the building says (simulator, in-memory spans)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest
from engine_helpers import Run
from pydantic import BaseModel, Field

from agentdeck.engine import semconv as sc
from agentdeck.engine.agents import Agent, Prompt, Tier
from agentdeck.engine.ledger import Ledger
from agentdeck.engine.patterns import critique_loop, event_driven, fan_out, graph, sequential, supervisor
from agentdeck.engine.providers.simulator import FaultRates
from agentdeck.engine.runner import TaskInput
from agentdeck.refs import SPAN_ATTRIBUTE

NO_FAULTS = FaultRates()
TASK = [TaskInput("t1", {"question": "Why do cats purr?"})]


class Note(BaseModel):
    summary: str


class Route(BaseModel):
    next: Literal["researcher"]


class Done(BaseModel):
    next: Literal["done"]


class Verdict(BaseModel):
    approved: Literal[False]


class Escalate(BaseModel):
    events: list[Literal["net.check"]] = Field(min_length=1, max_length=1)


def agent(name: str, schema: type[BaseModel] = Note, prompt: str = "Work on {question}.") -> Agent:
    return Agent(name, f"{name} role", Prompt(prompt + " Answer from the allowed list."), Tier.FAST, schema)


def agent_steps(run: Run) -> list[str]:
    """Agent names of the invoke_agent spans, in start order."""
    spans = run.trace(run.summary.tasks[0].trace_id)
    return [str(s.attributes[sc.GEN_AI_AGENT_NAME]) for s in spans if s.name.startswith("invoke_agent")]


SEQ = sequential("module_seq", [agent("reader")], inputs=["question"])


def test_sequential_runs_in_order_and_each_agent_sees_the_earlier_outputs(run_workflow: Callable[..., Run]) -> None:
    wf = sequential(
        "seq",
        [agent("reader"), agent("writer", prompt="Answer {question} using {summary} and {reader}.")],
        inputs=["question"],
    )
    run = run_workflow(wf, TASK, faults=NO_FAULTS)
    task = run.summary.tasks[0]
    assert (task.task_id, task.outcome) == ("t1", "success")
    assert agent_steps(run) == ["reader", "writer"]
    spans = run.trace(task.trace_id)
    chats = [s for s in spans if s.name.startswith("chat") and s.parent is not None]
    writer_prompt = str(chats[-1].attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert "Why do cats purr?" in writer_prompt and '\\"summary\\"' in writer_prompt  # the reader's JSON
    assert set(task.result) == {"summary"}  # the last agent's output is the answer
    assert spans[0].attributes[SPAN_ATTRIBUTE] == "seq"  # a workflow no module holds is recorded by its name


def test_a_workflow_a_module_holds_is_recorded_as_module_attr(run_workflow: Callable[..., Run]) -> None:
    run = run_workflow(SEQ, TASK, faults=NO_FAULTS)
    root = run.trace(run.summary.tasks[0].trace_id)[0]
    assert root.attributes[SPAN_ATTRIBUTE] == f"{__name__}:SEQ"


def test_fan_out_runs_every_branch_then_the_merge(run_workflow: Callable[..., Run]) -> None:
    wf = fan_out("fan", [agent("legal"), agent("market")], agent("memo"), inputs=["question"])
    run = run_workflow(wf, TASK, faults=NO_FAULTS)
    assert run.summary.tasks[0].outcome == "success"
    steps = agent_steps(run)
    assert sorted(steps[:2]) == ["legal", "market"] and steps[2:] == ["memo"]


def test_supervisor_delegates_until_done_or_its_round_cap(run_workflow: Callable[..., Run]) -> None:
    busy = supervisor("sup", agent("boss", Route), [agent("researcher")], inputs=["question"], max_rounds=2)
    run = run_workflow(busy, TASK, faults=NO_FAULTS)
    task = run.summary.tasks[0]
    assert (task.outcome, task.detail) == ("incomplete", "max_rounds")
    assert agent_steps(run) == ["boss", "researcher", "boss", "researcher"]

    quick = supervisor("sup2", agent("boss", Done), [agent("researcher")], inputs=["question"])
    run = run_workflow(quick, TASK, faults=NO_FAULTS)
    assert run.summary.tasks[0].outcome == "success" and agent_steps(run) == ["boss"]


def test_graph_follows_its_routes(run_workflow: Callable[..., Run]) -> None:
    wf = graph(
        "routed",
        [agent("intake"), agent("billing"), agent("tech")],
        inputs=["question"],
        routes={"intake": lambda state: "tech"},
        result="tech",
    )
    run = run_workflow(wf, TASK, faults=NO_FAULTS)
    assert run.summary.tasks[0].outcome == "success" and agent_steps(run) == ["intake", "tech"]

    lost = graph("lost", [agent("intake")], inputs=["question"], routes={"intake": lambda state: "nobody"})
    run = run_workflow(lost, TASK, faults=NO_FAULTS)
    task = run.summary.tasks[0]
    assert task.outcome == "failed" and "a route chose 'nobody'" in task.detail


def test_critique_loop_stops_at_its_cap_with_the_last_draft(run_workflow: Callable[..., Run]) -> None:
    wf = critique_loop("crit", agent("writer"), agent("critic", Verdict), inputs=["question"], max_rounds=2)
    run = run_workflow(wf, TASK, faults=NO_FAULTS)
    task = run.summary.tasks[0]
    assert (task.outcome, task.detail) == ("incomplete", "max_rounds") and set(task.result) == {"summary"}
    assert agent_steps(run) == ["writer", "critic", "writer", "critic"]
    writers = [s for s in run.trace(task.trace_id) if s.name == "invoke_agent writer"]
    assert [s.attributes[sc.AD_ITERATION] for s in writers] == [1, 2]


def test_event_driven_dead_letters_unhandled_events_and_carries_on(run_workflow: Callable[..., Run]) -> None:
    wf = event_driven(
        "events",
        {"alert.*": agent("triager", Escalate), "db.*": agent("dba", Escalate)},
        inputs=["question"],
        first_event="alert.fired",
    )
    run = run_workflow(wf, TASK, faults=NO_FAULTS)
    task = run.summary.tasks[0]
    assert task.outcome == "success"
    assert task.result == [{"event": "alert.fired", "agent": "triager"}]  # net.check: nobody subscribes
    ledger = Ledger(run.db)
    try:
        letters = ledger.dead_letters()
    finally:
        ledger.close()
    assert [(d.error_type, d.task_id) for d in letters] == [("unhandled_event", "t1")]
    assert "net.check" in letters[0].error


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: supervisor("s", agent("boss"), [agent("w")], inputs=["q"]), "needs a `next` field"),
        (lambda: sequential("s", [agent("q")], inputs=["q"]), "names used twice"),
        (lambda: sequential("s", [agent("a")], inputs=[]), "name the fields of a task"),
        (lambda: graph("g", [agent("a")], inputs=["q"], routes={"b": lambda s: None}), "'b' is not one of the agents"),
        (lambda: critique_loop("c", agent("a"), agent("b"), inputs=["q"], max_rounds=0), "max_rounds"),
        (lambda: sequential("s", [], inputs=["q"]), "at least one agent"),
    ],
)
def test_building_mistakes_say_what_to_fix(build: Callable[[], object], says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        build()
