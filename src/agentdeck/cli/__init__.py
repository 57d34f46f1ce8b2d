"""The `agentdeck` command line: `main` parses the subcommands; each feature lives in its own module
(alerts, replay, demo, load, sample traces), so `agentdeck --help` imports none of the heavy parts."""
