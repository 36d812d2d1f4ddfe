"""Protocol-faithful stand-ins for the backends, runnable with ``python -m`` (tests, demo mode)."""
