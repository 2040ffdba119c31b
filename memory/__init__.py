"""Storage: the show bible in Chroma, thread history and the ideas ledger in SQLite."""
