"""The six multi-agent patterns as builders: call one with your own agents, get a runnable `Workflow`.

    sequential     agents one after the other (a pipeline)
    fan_out        branches in parallel, then a merge agent (fan-out / fan-in)
    supervisor     a supervisor agent delegates to workers until it says done
    graph          agents joined by conditional edges (routing functions), cycles allowed
    critique_loop  a writer and a critic in rounds until the critic approves (iteration cap)
    event_driven   agents subscribed to event types on a bus; unhandled events are dead-lettered

Every builder takes `inputs`, the field names of a task (one line of a tasks file), and names each
node after its agent. An agent's prompt template is filled from the task's fields, the fields of the
outputs of the agents that ran before it, and each such output as JSON under that agent's name.
"""

from agentdeck.engine.patterns.flows import fan_out, sequential, supervisor
from agentdeck.engine.patterns.loops import critique_loop, event_driven, graph

__all__ = ["critique_loop", "event_driven", "fan_out", "graph", "sequential", "supervisor"]
