"""`python -m agentdeck ...`: the same as the `agentdeck` command."""

from agentdeck.cli.main import main

raise SystemExit(main())
