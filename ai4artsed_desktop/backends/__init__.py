"""Backend layer: supervised child processes and protocol clients (no Qt)."""
