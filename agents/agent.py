"""The canon agent: LangChain tools for bible search, name lookup and thread history, then
a grounded, cited answer that is verified before it is final.

Small local models cannot be trusted to choose tools, so the agent plans its tool calls
itself (look up every name the writer used, search for the question, read the thread) and
leaves the model only the writing. Canon already quoted earlier in the thread is not quoted
again, which keeps follow-up prompts short and their prefix identical, so llama.cpp reuses
the KV cache.

How the answer is written depends on the model (``AgentConfig.answer_mode``):
- extract: the bible's own sentences, cited (the default on a base model, which continues
  prompts instead of answering them);
- generate: an instruct model answers in a chat, a base model continues a completion-style
  prompt with stop sequences; either way the text is verified (agents.verify) and, when too
  little survives, the extractive floor stands in for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.budget import Fit, fit_budget
from agents.canon import citation, excerpt_block, unique
from agents.cite import Cited, floor_of, stream_and_cite
from agents.extract import Extractor, Picked
from agents.llm.base import GenerationStats, ModelBackend, TextRequest
from agents.llm.chat_model import chat_text
from agents.messages import Delta, Final, Message, Reply, Update
from agents.prompts import Prompts
from agents.render import as_of_note
from agents.schemas import Answer
from agents.tools import make_tools
from memory.bible import BibleStore, Hit, is_relevant
from memory.bible_parse import Chunk
from memory.episodes import Episode
from memory.history import HistoryStore, Turn
from memory.lexical import Entity
from memory.timeline import visible

log = logging.getLogger(__name__)
TEMPLATE_OVERHEAD = 16  # chat-template tokens per message, a safe overestimate
# A base model continuing the completion prompt stops where it would start a new question
# or a new note.
COMPLETION_STOPS = ("\nQuestion:", "\n\n", "\n[", "Question:")


@dataclass(frozen=True)
class AgentConfig:
    search_k: int = 5
    history_token_budget: int = 3000
    max_tokens: int = 512
    temperature: float = 0.7
    relevance_threshold: float = 0.4
    follow_up_excerpts: int = 3
    deadline_s: float | None = None
    answer_mode: str = "auto"  # auto | extract | generate
    extract_sentences: int = 3


@dataclass(frozen=True)
class TurnPlan:
    """What this turn shows the model: the chat messages, the turn's own prompt text, the
    canon quoted for the first time in it, and the history that fitted."""

    messages: list[BaseMessage]
    turn_text: str
    fresh: list[Chunk]
    history: list[Turn]


@dataclass(frozen=True)
class Gathered:
    """What the tools found for one question. ``query`` is what was searched: the writer's
    words, with the thread's names added when they name no one ("what does she want?" in a
    thread about Maren); ``about`` is who the question is about, named or implied."""

    canon: list[Chunk]
    thread: list[Turn]
    relevant: bool
    query: str
    about: list[Entity]


def _names(entities: Sequence[Entity]) -> str:
    return ", ".join(e.name for e in entities)


def not_canon_notice(show: str) -> str:
    return (
        f"The {show} bible has nothing on this, so none of what follows is canon. "
        "Add it to the bible if the room decides to keep it."
    )


class CanonAgent:
    def __init__(
        self,
        *,
        engine: ModelBackend,
        bible: BibleStore,
        history: HistoryStore,
        prompts: Prompts,
        config: AgentConfig,
        extractor: Extractor,
    ) -> None:
        self._engine = engine
        self._bible = bible
        self._history = history
        self._prompts = prompts
        self._config = config
        self._extractor = extractor
        self.last_stats: GenerationStats | None = None

    @property
    def mode(self) -> str:
        """'extract' or 'generate', with 'auto' settled by the kind of model."""
        if self._config.answer_mode != "auto":
            return self._config.answer_mode
        return "generate" if self._engine.is_instruct else "extract"

    async def gather(self, msg: Message, show: str, as_of: Episode | None = None) -> Gathered:
        """Run the tools: the ranked canon, the thread so far, and whether the bible speaks
        to the question."""
        tools = make_tools(self._bible, show, self._history, msg.key, self._config.search_k, as_of)
        thread: list[Turn] = await tools["read_thread"].ainvoke(
            {"token_budget": self._config.history_token_budget}
        )
        thread = self._before_reveals(show, thread, as_of)
        named = self._bible.named_in(show, msg.text, as_of)
        about = named or self._recently_named(show, thread, as_of)
        query = msg.text if named or not about else f"{msg.text} ({_names(about)})"
        hits: list[Hit] = await tools["search_bible"].ainvoke({"query": query})
        canon: list[Chunk] = [h.chunk for h in hits]
        for entity in named:
            found = await tools["lookup_entry"].ainvoke({"name": entity.name})
            if found is not None:
                # The best-matching sections first, then the rest of the entry, two at most.
                extra = [c for c in found[1] if c not in canon][:2]
                canon.extend(extra)
        # Whether the bible speaks to the question is judged on the writer's own words: the
        # thread's names added to the query would make any question look relevant.
        own = (
            hits if query == msg.text else await tools["search_bible"].ainvoke({"query": msg.text})
        )
        relevant = bool(named) or is_relevant(own, self._config.relevance_threshold)
        return Gathered(canon, thread, relevant, query, about)

    def _before_reveals(self, show: str, thread: list[Turn], as_of: Episode | None) -> list[Turn]:
        """The thread up to the first exchange that quoted canon revealed after ``as_of``
        (asked before the thread's episode was set). Later turns go too: a follow-up quotes
        nothing new, but its answer may repeat the reveal."""
        if as_of is None:
            return thread
        for i, turn in enumerate(thread):
            if any(not visible(c, as_of) for c in self._chunks(show, turn.canon_ids)):
                return thread[:i]
        return thread

    def _recently_named(self, show: str, thread: list[Turn], as_of: Episode | None) -> list[Entity]:
        """Entries named in the thread's latest writer turn that named any."""
        for turn in reversed(thread):
            if turn.role == "writer":
                named = self._bible.named_in(show, turn.text, as_of)
                if named:
                    return named[:2]
        return []

    def build_turn(
        self, msg: Message, show: str, canon: list[Chunk], thread: list[Turn]
    ) -> TurnPlan:
        """Messages for the model, the prompt text of this turn, and the canon it quotes."""
        system = self._prompts.render("answer_system", show=show)
        count = self._engine.count_tokens

        def compose_turn(fresh: list[Chunk]) -> str:
            block = excerpt_block(self._prompts, fresh, [c.citation for c in fresh])
            return self._prompts.render(
                "writer_turn", canon=block, author=msg.author, text=msg.text
            )

        fixed = count(system) + count(compose_turn([])) + self._config.max_tokens
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
        turn_text = compose_turn(fresh)
        messages: list[BaseMessage] = [SystemMessage(content=system)]
        for turn in history:
            cls = HumanMessage if turn.role == "writer" else AIMessage
            messages.append(cls(content=turn.prompt_text))
        messages.append(HumanMessage(content=turn_text))
        return TurnPlan(messages, turn_text, fresh, history)

    async def answer(
        self, msg: Message, show: str, as_of: Episode | None = None
    ) -> AsyncIterator[Update]:
        found = await self.gather(msg, show, as_of)
        canon, thread, relevant = found.canon, found.thread, found.relevant
        mode = self.mode
        if not relevant:
            canon = []
            # A follow-up ("shorter, please") in a thread that already quotes canon is about
            # that canon when the model can rewrite it: no warning, nothing new to quote. An
            # extract cannot rewrite, and the thread's sentences would not answer a new question.
            relevant = mode == "generate" and any(turn.canon_ids for turn in thread)
        # As of an episode, the thread was already cut before any turn that quoted a reveal.
        quoted_before = [c for t in thread for c in self._chunks(show, t.canon_ids)]
        retrieved = canon + [c for c in quoted_before if c not in canon]
        plan = self.build_turn(msg, show, canon, thread)
        notice = "" if relevant else not_canon_notice(show)
        episode_line = as_of_note(as_of.code) if as_of is not None else ""
        for line in (episode_line, notice):
            if line:
                yield Delta(line + "\n\n")
        cited = Cited("", [])

        async def floor() -> list[Picked]:
            return await asyncio.to_thread(
                self._extractor.pick,
                found.query,
                canon or (quoted_before if relevant else []),
                self._config.extract_sentences,
                [e.file for e in found.about],
            )

        if mode == "generate":
            said = [msg.text, *(t.text for t in thread if t.role == "writer")]
            # Where the bible has nothing, the notice already says none of it is canon.
            async for item in stream_and_cite(
                self._generate(msg, show, plan),
                canon=retrieved,
                instructions=self._instructions(show),
                said=said,
                grounded=relevant,
                floor=floor,
            ):
                if isinstance(item, Delta):
                    yield item
                else:
                    cited = item
            mode = "floor" if cited.floor else mode
        else:
            cited = floor_of(await floor())
        body, citations = cited.text, cited.citations
        if not body and not notice:  # nothing stood up, and nothing to quote instead
            body = "I could not find an answer to that in the bible. Try asking with a name."
        text = "\n\n".join(part for part in (episode_line, notice, body) if part)
        self._remember(msg, show, plan, text)
        result = Answer(
            text=text,
            citations=citations,
            retrieved=unique(citation(c) for c in retrieved),
            mode=mode,  # type: ignore[arg-type]
            canon_found=relevant,
            removed=cited.removed,
        )
        reply = Reply(kind="answer", text=text, citations=citations, result=result)
        yield Final(reply.model_copy(update={"as_of": as_of.code if as_of else None}))

    async def _generate(self, msg: Message, show: str, plan: TurnPlan) -> AsyncIterator[str]:
        """The model's text, streamed: a chat for an instruct model, a completion for a base
        model. Neither is final until verified."""
        stats = GenerationStats()
        self.last_stats = stats
        if self._engine.is_instruct:
            async for piece in chat_text(
                self._engine,
                plan.messages,
                lane=msg.lane,
                max_tokens=self._config.max_tokens,
                temperature=self._config.temperature,
                deadline_s=self._config.deadline_s,
                stats=stats,
                stop=[f"\n{msg.author} asks:"],
            ):
                yield piece
            return
        request = TextRequest(
            prompt=self._completion(show, msg.text, plan),
            lane=msg.lane,
            max_tokens=self._config.max_tokens,
            temperature=self._config.temperature,
            deadline_s=self._config.deadline_s,
            stop=COMPLETION_STOPS,
            repeat_penalty=1.1,
        )
        async for piece in self._engine.stream(request, stats):
            yield piece

    def _completion(self, show: str, question: str, plan: TurnPlan) -> str:
        """The completion-style prompt a base model continues with an answer."""
        notes = "".join(
            self._prompts.render("answer_note", label=c.citation, text=c.text)
            for c in [*self._chunks_of(show, plan.history), *plan.fresh]
        )
        history = "".join(
            self._prompts.render("answer_exchange", question=q.text, answer=a.text)
            for q, a in zip(plan.history[::2], plan.history[1::2], strict=False)
            if q.role == "writer" and a.role == "assistant"
        )
        return self._prompts.render(
            "answer_completion", show=show, notes=notes, history=history, question=question
        )

    def _chunks_of(self, show: str, turns: Sequence[Turn]) -> list[Chunk]:
        return self._chunks(show, tuple(cid for t in turns for cid in t.canon_ids))

    def _instructions(self, show: str) -> str:
        """Everything the prompts say that is neither canon nor the writers' words: what an
        answer must not repeat."""
        parts = [
            self._prompts.render("answer_system", show=show),
            self._prompts.render("canon_block", excerpts=""),
            self._prompts.render("writer_turn", canon="", author="", text=""),
            self._prompts.render("answer_completion", show=show, notes="", history="", question=""),
        ]
        return "\n".join(parts)

    def _remember(self, msg: Message, show: str, plan: TurnPlan, text: str) -> None:
        """The writer's turn and the answer they got, saved together."""
        count = self._engine.count_tokens
        self._history.append(
            msg.key,
            show,
            [
                Turn(
                    "writer",
                    msg.author,
                    msg.text,
                    plan.turn_text,
                    count(plan.turn_text),
                    tuple(c.id for c in plan.fresh),
                ),
                Turn("assistant", "bot", text, text, count(text)),
            ],
        )

    def _chunks(self, show: str, ids: tuple[str, ...]) -> list[Chunk]:
        return [c for c in (self._bible.chunk(show, i) for i in dict.fromkeys(ids)) if c]
