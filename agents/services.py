"""What command handlers work with: the model backend, the stores, the prompts and the
rules, wired once by the composition root (``bot/compose.py``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agents.access import Access
from agents.agent import CanonAgent
from agents.canon import relevant_chunks
from agents.canon_editor import CanonEditor
from agents.errors import BadRequest
from agents.extract import Extractor
from agents.llm.base import ModelBackend, StructuredRequest, T
from agents.prompts import Prompts
from agents.shows import ShowResolver
from memory.bible import BibleStore
from memory.bible_parse import Chunk
from memory.episodes import Episode, EpisodeCodeError, parse_episode
from memory.history import HistoryStore
from memory.ledger import Ledger
from memory.room_state import RoomState


@dataclass(frozen=True)
class RoomConfig:
    max_message_chars: int = 8000
    max_upload_bytes: int = 5 * 1024 * 1024  # an attached file the room reads
    search_k: int = 5
    max_field_chars: int = 240
    structured_temperature: float = 0.8
    relevance_threshold: float = 0.4
    # brainstorms
    provocations: int = 3
    topic_canon: int = 4
    riff_canon: int = 2
    riff_max_tokens: int = 400
    brainstorm_temperature: float = 0.9
    summary_chars: int = 480
    transcript_token_budget: int = 3000
    top_pitches: int = 5
    deadline_s: float | None = None


@dataclass(frozen=True)
class Services:
    backend: ModelBackend
    bible: BibleStore
    history: HistoryStore
    ledger: Ledger
    state: RoomState
    prompts: Prompts
    agent: CanonAgent
    extractor: Extractor
    canon: CanonEditor
    shows: ShowResolver
    access: Access
    config: RoomConfig

    async def produce(self, request: StructuredRequest[T]) -> T:
        """A structured result from the backend, under the room's request deadline."""
        if request.deadline_s is None:
            request = dataclasses.replace(request, deadline_s=self.config.deadline_s)
        return await self.backend.produce(request)

    async def relevant(
        self, show: str, query: str, k: int, as_of: Episode | None = None
    ) -> list[Chunk]:
        """Sections that bear on the query (see ``relevant_chunks``), as of an episode."""
        return await relevant_chunks(
            self.bible, self.config.relevance_threshold, show, query, k, as_of
        )

    def episode(self, show: str, code: str) -> Episode:
        """A writer's episode code; a bare number is in the season the bible reached."""
        latest = self.bible.latest_episode(show)
        try:
            return parse_episode(code, latest.season if latest else 1)
        except EpisodeCodeError as exc:
            raise BadRequest(f"{exc} Nothing was changed.") from None
