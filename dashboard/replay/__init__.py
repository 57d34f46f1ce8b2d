"""The Replay page's parts: failed tasks and the checkpoint tree (`history_view`), editing and running a
fork (`run_view`), the step-by-step comparison (`compare_view`), one LLM call re-run (`call_view`), and
their data from the collector (`data`)."""
