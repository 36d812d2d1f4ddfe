"""Reusable widgets: status bar, error banner, config picker."""
