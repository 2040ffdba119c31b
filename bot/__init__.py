"""Platform adapters (terminal room today) and the command-line entry point."""
