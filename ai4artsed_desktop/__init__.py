"""AI4ArtsEd Desktop: generative AI as a subject of creative exploration in arts education."""

__version__ = "0.1.0"
APP_NAME = "AI4ArtsEd Desktop"
APP_ID = "ai4artsed-desktop"
