"""Model files: the catalogue of what to get, downloads, and checks of what is on disk."""
