"""`bible search QUERY`: the matching sections of the bible, ranked, with their sources and
who put a room-promoted entry there."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field

from agents import render
from agents.canon import citation
from agents.commands.registry import register
from agents.commands.spec import Call, CommandSpec, Param
from agents.messages import Reply


class SearchHit(BaseModel):
    file: str
    heading: str
    text: str
    score: float  # the ranking score the order follows (1.00 is best)
    similarity: float  # the meaning match alone
    provenance: dict[str, Any] | None = None


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit] = Field(default_factory=list)


async def run(call: Call) -> Reply:
    query, services = call.arg("query"), call.services
    hits = await asyncio.to_thread(
        services.bible.search, call.show, query, services.config.search_k, call.as_of
    )
    result = SearchResult(
        query=query, hits=[SearchHit.model_validate(row) for row in render.search_rows(hits)]
    )
    return Reply(
        kind="search",
        text=render.search(query, hits),
        result=result,
        citations=[citation(h.chunk) for h in hits],
    )


SPEC = register(
    CommandSpec(
        "bible",
        "Search the show bible and show the matching sections with their sources.",
        (
            Param("action", "What to do.", choices=("search",)),
            Param("query", "What to look for.", rest=True),
        ),
        ("bible search who runs the lighthouse chapel",),
        handler=run,
        result=SearchResult,
    )
)
