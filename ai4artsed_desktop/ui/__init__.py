"""Qt user interface: view-models, widgets, pages and the main window."""
