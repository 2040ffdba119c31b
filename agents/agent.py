"""The canon agent: LangChain tools for bible search, name lookup and thread history, then
a grounded, cited answer streamed from the local model.

Small local models cannot be trusted to choose tools, so the agent plans its tool calls
itself (look up every name the writer used, search for the question, read the thread) and
leaves the model only the writing. Canon already quoted earlier in the thread is not quoted
again, which keeps follow-up prompts short and their prefix identical, so llama.cpp reuses
the KV cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.budget import Fit, fit_budget
from agents.canon import citation, cited_labels, excerpt_block, unique
from agents.chat_model import LocalChatModel
from agents.engine import GenerationStats, LlamaEngine
from agents.messages import Delta, Event, Final, IncomingMessage, Reply
from agents.prompts import Prompts
from agents.render import sources_line
from agents.tools import make_tools
from memory.bible import BibleStore, Hit, is_relevant
from memory.bible_parse import Chunk
from memory.history import HistoryStore, Turn
from memory.lexical import Entity

TEMPLATE_OVERHEAD = 16  # chat-template tokens per message, a safe overestimate


@dataclass(frozen=True)
class AgentConfig:
    search_k: int = 5
    history_token_budget: int = 3000
    max_tokens: int = 512
    temperature: float = 0.7
    relevance_threshold: float = 0.4
    follow_up_excerpts: int = 3
    deadline_s: float | None = None


def not_canon_notice(show: str) -> str:
    return (
        f"The {show} bible has nothing on this, so none of what follows is canon. "
        "Add it to the bible if the room decides to keep it."
    )


class CanonAgent:
    def __init__(
        self,
        *,
        engine: LlamaEngine,
        bible: BibleStore,
        history: HistoryStore,
        prompts: Prompts,
        config: AgentConfig,
    ) -> None:
        self._engine = engine
        self._bible = bible
        self._history = history
        self._prompts = prompts
        self._config = config
        self.last_stats: GenerationStats | None = None

    async def gather(
        self, msg: IncomingMessage, show: str
    ) -> tuple[list[Chunk], list[Turn], bool, list[Hit]]:
        """Run the tools: returns (ranked canon, thread so far, relevant?, raw search hits)."""
        tools = make_tools(self._bible, show, self._history, msg.key, self._config.search_k)
        thread: list[Turn] = await tools["read_thread"].ainvoke(
            {"token_budget": self._config.history_token_budget}
        )
        named = self._bible.named_in(show, msg.text)
        query = msg.text
        if not named:
            # "What does she want?" in a thread about Maren: search as if it said Maren.
            recent = self._recently_named(show, thread)
            if recent:
                query = f"{msg.text} ({', '.join(e.name for e in recent)})"
        hits: list[Hit] = await tools["search_bible"].ainvoke({"query": query})
        canon: list[Chunk] = [h.chunk for h in hits]
        for entity in named:
            found = await tools["lookup_entry"].ainvoke({"name": entity.name})
            if found is not None:
                # The best-matching sections first, then the rest of the entry, two at most.
                extra = [c for c in found[1] if c not in canon][:2]
                canon.extend(extra)
        relevant = bool(named) or is_relevant(hits, self._config.relevance_threshold)
        return canon, thread, relevant, hits

    def _recently_named(self, show: str, thread: list[Turn]) -> list[Entity]:
        """Entries named in the thread's latest writer turn that named any."""
        for turn in reversed(thread):
            if turn.role == "writer":
                named = self._bible.named_in(show, turn.text)
                if named:
                    return named[:2]
        return []

    def build_turn(
        self, msg: IncomingMessage, show: str, canon: list[Chunk], thread: list[Turn]
    ) -> tuple[list[BaseMessage], str, list[Chunk]]:
        """Messages for the model, the prompt text of this turn, and the canon it quotes."""
        system = self._prompts.render("answer_system", show=show)
        count = self._engine.count_tokens

        def compose(fresh: list[Chunk]) -> str:
            block = excerpt_block(self._prompts, fresh, [c.citation for c in fresh])
            return self._prompts.render(
                "writer_turn", canon=block, author=msg.author, text=msg.text
            )

        fixed = count(system) + count(compose([])) + self._config.max_tokens
        fixed += TEMPLATE_OVERHEAD * (len(thread) + 2)

        def plan(history: list[Turn]) -> tuple[Fit, list[Chunk]]:
            seen = {cid for turn in history for cid in turn.canon_ids}
            fresh = [c for c in canon if c.id not in seen]
            if seen:  # a follow-up: the thread already quotes canon; add only the best new
                fresh = fresh[: self._config.follow_up_excerpts]
            costs = [count(c.citation + c.text) + 4 for c in fresh]
            return fit_budget(self._engine.n_ctx, fixed, [t.tokens for t in history], costs), fresh

        fit, fresh = plan(thread)
        history = thread[fit.history_start :]
        if fit.history_start:  # canon quoted only in dropped turns must be quoted again
            fit, fresh = plan(history)
            history = history[fit.history_start :]
        fresh = fresh[: fit.canon_count]
        turn_text = compose(fresh)
        messages: list[BaseMessage] = [SystemMessage(content=system)]
        for turn in history:
            cls = HumanMessage if turn.role == "writer" else AIMessage
            messages.append(cls(content=turn.prompt_text))
        messages.append(HumanMessage(content=turn_text))
        return messages, turn_text, fresh

    async def answer(self, msg: IncomingMessage, show: str) -> AsyncIterator[Event]:
        canon, thread, relevant, _ = await self.gather(msg, show)
        if not relevant:
            canon = []
            # A follow-up ("shorter, please") in a thread that already quotes canon is about
            # that canon: no warning, and nothing new to quote.
            relevant = any(turn.canon_ids for turn in thread)
        messages, turn_text, fresh = self.build_turn(msg, show, canon, thread)
        stats = GenerationStats()
        model = LocalChatModel(
            engine=self._engine,
            lane=msg.lane,
            max_tokens=self._config.max_tokens,
            temperature=self._config.temperature,
            deadline_s=self._config.deadline_s,
            stats=stats,
        )
        notice = "" if relevant else not_canon_notice(show) + "\n\n"
        if notice:
            yield Delta(notice)
        parts: list[str] = []
        async for chunk in model.astream(messages):
            piece = chunk.text
            if piece:
                parts.append(piece)
                yield Delta(piece)
        self.last_stats = stats
        raw = "".join(parts)
        in_context = {c.citation for c in canon} | {
            c.citation for t in thread for c in self._chunks(show, t.canon_ids)
        }
        cited = [c for c in cited_labels(raw) if c.label in in_context]
        citations = cited or unique(citation(c) for c in canon[:3])
        text = notice + raw.strip()
        if citations and not cited:
            text += "\n\n" + sources_line(citations)
        count = self._engine.count_tokens
        self._history.append(
            msg.key,
            [
                Turn(
                    "writer",
                    msg.author,
                    msg.text,
                    turn_text,
                    count(turn_text),
                    tuple(c.id for c in fresh),
                ),
                Turn("assistant", "bot", text, raw, count(raw)),
            ],
        )
        yield Final(Reply(kind="answer", text=text, citations=citations))

    def _chunks(self, show: str, ids: tuple[str, ...]) -> list[Chunk]:
        return [c for c in (self._bible.chunk(show, i) for i in ids) if c is not None]
