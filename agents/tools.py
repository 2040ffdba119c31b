"""LangChain tools over the show bible and the thread, bound to one show and conversation."""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool

from memory.bible import BibleStore, Hit
from memory.bible_parse import Chunk
from memory.episodes import Episode
from memory.history import ConversationKey, HistoryStore, Turn
from memory.lexical import Entity


def make_tools(
    bible: BibleStore,
    show: str,
    history: HistoryStore,
    key: ConversationKey,
    k: int,
    as_of: Episode | None = None,
) -> dict[str, BaseTool]:
    """Tools return Python objects (chunks, hits, turns): the agent renders them itself.
    Bound to an episode, they never see canon revealed after it."""

    def search_bible(query: str) -> list[Hit]:
        """Semantic + keyword search of the show bible; returns the most relevant sections."""
        return bible.search(show, query, k=k, as_of=as_of)

    def lookup_entry(name: str) -> tuple[Entity, list[Chunk]] | None:
        """Exact lookup of a character, place or other entry by its name or an alias."""
        return bible.lookup(show, name, as_of=as_of)

    def read_thread(token_budget: int) -> list[Turn]:
        """The conversation so far in this thread, newest turns that fit the budget."""
        return history.turns(key, show, token_budget)

    tools = [
        StructuredTool.from_function(search_bible, response_format="content"),
        StructuredTool.from_function(lookup_entry, response_format="content"),
        StructuredTool.from_function(read_thread, response_format="content"),
    ]
    return {tool.name: tool for tool in tools}
