"""The embedded local backend: the same template, state machine and worker, on this machine."""
