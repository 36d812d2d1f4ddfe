"""Property-based fuzz tests (Hypothesis, derandomized: every run draws the same cases)."""
