"""View-models: QtCore objects holding screen state; widgets only bind to them."""
