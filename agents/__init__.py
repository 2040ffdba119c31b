"""The room's brain: the model engine, the LangChain agent and the structured commands."""
