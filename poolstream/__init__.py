"""poolstream: the composition root (settings, CLI, runtime, embedded broker)."""
