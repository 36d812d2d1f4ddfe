"""The run pipeline: stages, safety, routing, workflows (no Qt)."""
