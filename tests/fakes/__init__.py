"""Fake child programs and helpers for process and backend tests."""
