"""Time travel: a task's checkpoint tree (`history`), forking it with edited prompts or state (`fork`),
validating those edits (`validate`), comparing a fork with its original step by step (`compare`),
running a fork traced and compared in one call (`session`), and re-running one LLM call (`call`)."""
