"""An expense-approval workflow built with agentdeck's public API (see workflow.py)."""
