"""Screenplay files in and out: Fountain and Final Draft (FDX), through one neutral
``Script`` (``agents.screenplay.model``)."""
