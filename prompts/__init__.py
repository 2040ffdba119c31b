"""Prompt files. Loaded and validated by agents.prompts; no code lives here."""
