"""The four pages of the main window: Create, History, Training, Settings."""
