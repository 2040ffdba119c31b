"""Platform adapters (terminal, Slack, Discord), the command line, and the composition root."""
