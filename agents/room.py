"""The one core service every adapter calls: a neutral message in, reply events out.

It validates input, resolves the command from the command table, runs it (or the canon
agent for free text) and turns every failure into a short message for the writer. Results
and the message that asked for them are saved to the thread only when the request succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agents import render
from agents.agent import CanonAgent
from agents.backend import ModelBackend
from agents.brainstorm import Brainstorms, counts_as_vote
from agents.canon import citation, excerpt_block, relevant_chunks
from agents.canon_editor import CanonEditor
from agents.commands import (
    CommandSpec,
    addressed_command,
    get_command,
    help_text,
    parse_command,
    validate_args,
)
from agents.errors import BadRequest, RoomError
from agents.messages import Event, Final, IncomingMessage, Reply, Working
from agents.prompts import Prompts
from agents.schemas import (
    STRUCTURE_LABELS,
    STRUCTURES,
    Beat,
    BeatSheet,
    CharacterCard,
    Citation,
    LoglineSet,
    beats_schema,
    character_schema,
    logline_schema,
)
from agents.structured import StructuredGenerator, token_allowance
from memory.bible import BibleStore, InvalidShowName, UnknownShow, show_slug
from memory.bible_parse import Chunk
from memory.history import HistoryStore, Turn
from memory.ledger import Actor, Pitch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomConfig:
    max_message_chars: int = 8000
    search_k: int = 5
    max_field_chars: int = 240
    structured_temperature: float = 0.8
    relevance_threshold: float = 0.4


# Commands that wait on the model or re-index the bible: adapters show a placeholder.
SLOW_COMMANDS = frozenset({"logline", "beats", "character", "brainstorm", "wrap", "canon"})


def internal_error(exc: Exception) -> str:
    return (
        f"Something went wrong on the bot's side ({type(exc).__name__}); nothing was saved. "
        "Try again, and if it keeps happening, ask whoever runs the bot to check its log."
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Room:
    def __init__(
        self,
        *,
        engine: ModelBackend,
        bible: BibleStore,
        history: HistoryStore,
        prompts: Prompts,
        agent: CanonAgent,
        structured: StructuredGenerator,
        brainstorms: Brainstorms,
        canon: CanonEditor,
        config: RoomConfig,
    ) -> None:
        self.brainstorms = brainstorms
        self.canon = canon
        self.engine = engine
        self.bible = bible
        self.history = history
        self._prompts = prompts
        self.agent = agent
        self._structured = structured
        self._config = config

    # ---- entry points --------------------------------------------------------------------
    async def handle(self, msg: IncomingMessage, show: str) -> AsyncIterator[Event]:
        """Answer one message. '/command', or a thread command said to the bot ('@bot wrap'),
        runs the command; in a brainstorm every message is recorded and the bot speaks when
        addressed; elsewhere it answers when addressed or in its own thread."""
        try:
            text = self._check_text(msg.text)
            slug = self._check_show(show)
            brainstorm = self.brainstorms.thread(msg)
            if brainstorm is not None:
                slug = self._check_show(brainstorm.show)  # a thread keeps the show it began with
            command = self._parse(text, msg)
            if brainstorm is not None:
                kind = "command" if command else "ask" if msg.mentions_bot else "chat"
                ack = await asyncio.to_thread(self.brainstorms.record, msg, brainstorm, kind)
                if ack is not None:
                    yield Final(ack)
                    return
            if command is not None:
                spec, args = command
                if spec.name == "riff":
                    bs = brainstorm or self.brainstorms.require(msg, "riff")
                    async for event in self.brainstorms.riff(msg, bs, args["pitch"], ""):
                        yield event
                    return
                if spec.name in SLOW_COMMANDS:
                    yield Working()
                yield Final(await self._run(msg, slug, spec.name, args))
            elif brainstorm is not None:
                if msg.mentions_bot:
                    async for event in self.brainstorms.riff(msg, brainstorm, None, text):
                        yield event
                else:
                    yield Final(Reply(kind="noted", text=""))
            elif msg.mentions_bot or msg.in_bot_thread:
                yield Working()
                async for event in self.agent.answer(msg, slug):
                    yield event
            else:
                self._record_chatter(msg)
                yield Final(Reply(kind="noted", text=""))
        except (RoomError, UnknownShow, InvalidShowName) as exc:
            yield Final(Reply(kind="error", text=str(exc)))
        except Exception as exc:  # the writer always gets an answer; the log gets the detail
            log.exception("request failed")
            yield Final(Reply(kind="error", text=internal_error(exc)))

    async def command(
        self, msg: IncomingMessage, show: str, name: str, args: dict[str, Any]
    ) -> Reply:
        """For adapters with typed options (slash commands): same checks, same handlers."""
        try:
            slug = self._check_show(show)
            spec = get_command(name)
            checked = validate_args(spec, args)
            for value in checked.values():
                if isinstance(value, str):
                    self._check_text(value)
            brainstorm = self.brainstorms.thread(msg)
            if brainstorm is not None:
                slug = self._check_show(brainstorm.show)
                said = " ".join([f"/{spec.name}", *(str(v) for v in checked.values() if v)])
                await asyncio.to_thread(
                    self.brainstorms.record,
                    msg.model_copy(update={"text": said}),
                    brainstorm,
                    "command",
                )
            return await self._run(msg, slug, spec.name, checked)
        except (RoomError, UnknownShow, InvalidShowName) as exc:
            return Reply(kind="error", text=str(exc))
        except Exception as exc:
            log.exception("command failed")
            return Reply(kind="error", text=internal_error(exc))

    def react(
        self, platform: str, workspace: str, message_ref: str, voter: Actor, token: str, add: bool
    ) -> Pitch | None:
        """A reaction added to or removed from a message: a vote when the message is a pitch
        and the reaction is not a thumbs-down. Returns the pitch as it stands, else None."""
        pitch = self.brainstorms.ledger.pitch_by_ref(platform, workspace, message_ref)
        if pitch is None or not counts_as_vote(token):
            return None
        if add:
            self.brainstorms.ledger.vote(pitch, voter, token)
        else:
            self.brainstorms.ledger.unvote(pitch, voter, token)
        return self.brainstorms.ledger.pitch(pitch.id)

    @staticmethod
    def _parse(text: str, msg: IncomingMessage) -> tuple[CommandSpec, dict[str, Any]] | None:
        if text.startswith("/"):
            return parse_command(text)
        if msg.mentions_bot:
            return addressed_command(text)
        return None

    # ---- checks --------------------------------------------------------------------------
    def _check_text(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise BadRequest("Your message is empty. Ask something about the show, or try: help")
        if len(text) > self._config.max_message_chars:
            raise BadRequest(
                f"That message is {len(text):,} characters; the room takes up to "
                f"{self._config.max_message_chars:,}. Send the part that matters, or add long "
                "material to the bible (writersroom bible ingest). Nothing was saved."
            )
        return text

    def _check_show(self, show: str) -> str:
        slug = show_slug(show)
        if not self.bible.has_show(slug):
            raise UnknownShow(slug, self.bible.shows())
        return slug

    # ---- handlers ------------------------------------------------------------------------
    async def _run(self, msg: IncomingMessage, show: str, name: str, args: dict[str, Any]) -> Reply:
        handlers: dict[str, Callable[..., Awaitable[Reply]]] = {
            "logline": self._logline,
            "beats": self._beats,
            "character": self._character,
            "bible": self._bible_search,
            "help": self._help,
            "brainstorm": self._brainstorm,
            "riff": self._riff,
            "capture": self._capture,
            "vote": self._vote,
            "unvote": self._vote,
            "wrap": self._wrap,
            "canon": self._canon,
        }
        handler = handlers[name]
        if name in ("vote", "unvote"):
            args = {**args, "add": name == "vote"}
        reply: Reply = await handler(msg, show, **args)
        if reply.ok and name in ("logline", "beats", "character"):
            self._record_command(msg, name, args, reply)
        return reply

    # ---- brainstorms ---------------------------------------------------------------------
    async def _brainstorm(self, msg: IncomingMessage, show: str, topic: str) -> Reply:
        return await self.brainstorms.open(msg, show, topic)

    async def _riff(self, msg: IncomingMessage, show: str, pitch: int | None) -> Reply:
        bs = self.brainstorms.require(msg, "riff")
        reply = Reply(kind="error", text="No reply.")
        async for event in self.brainstorms.riff(msg, bs, pitch, ""):
            if isinstance(event, Final):
                reply = event.reply
        return reply

    async def _capture(self, msg: IncomingMessage, show: str) -> Reply:
        bs = self.brainstorms.require(msg, "capture")
        return await asyncio.to_thread(self.brainstorms.capture, msg, bs)

    async def _vote(self, msg: IncomingMessage, show: str, pitch: int, add: bool) -> Reply:
        return await asyncio.to_thread(self.brainstorms.vote, msg, show, pitch, add)

    async def _wrap(
        self, msg: IncomingMessage, show: str, beats: str | None, structure: str
    ) -> Reply:
        bs = self.brainstorms.require(msg, "wrap")
        return await self.brainstorms.wrap(
            msg, bs, beats=bool(beats), structure=structure, beat_sheet=self.beat_sheet
        )

    async def _canon(
        self, msg: IncomingMessage, show: str, action: str, target: str | None
    ) -> Reply:
        bs = self.brainstorms.thread(msg)
        if action == "undo":
            return await asyncio.to_thread(self.canon.undo, msg, show)
        return await asyncio.to_thread(self.canon.add, msg, show, target, bs)

    async def _help(self, msg: IncomingMessage, show: str, command: str | None) -> Reply:
        return Reply(kind="help", text=help_text(command))

    async def _bible_search(
        self, msg: IncomingMessage, show: str, action: str, query: str
    ) -> Reply:
        hits = await asyncio.to_thread(self.bible.search, show, query, self._config.search_k)
        data = {"query": query, "hits": render.search_rows(hits)}
        return Reply(
            kind="search",
            text=render.search(query, hits),
            data=data,
            citations=[citation(h.chunk) for h in hits],
        )

    async def _relevant(self, show: str, query: str, k: int) -> list[Chunk]:
        return await relevant_chunks(self.bible, self._config.relevance_threshold, show, query, k)

    async def _logline(self, msg: IncomingMessage, show: str, premise: str, n: int) -> Reply:
        canon = await self._relevant(show, premise, 3)
        sources = [citation(c) for c in canon]
        prompt = self._prompts.render(
            "logline",
            n=n,
            show=show,
            canon=excerpt_block(self._prompts, canon, [c.citation for c in canon]),
            premise=premise,
        )
        chars = self._config.max_field_chars
        result = await self._structured.generate(
            what="set of loglines",
            messages=[{"role": "user", "content": prompt}],
            schema=logline_schema(n, chars),
            build=lambda d: LoglineSet(premise=premise, loglines=d["loglines"], sources=sources),
            lane=msg.lane,
            max_tokens=token_allowance(5 * n, chars),
            temperature=self._config.structured_temperature,
        )
        return Reply(
            kind="loglines",
            text=render.loglines(result),
            data=result.model_dump(),
            citations=sources,
        )

    async def _beats(self, msg: IncomingMessage, show: str, premise: str, structure: str) -> Reply:
        sheet = await self.beat_sheet(show, premise, structure, msg.lane)
        return Reply(
            kind="beats", text=render.beats(sheet), data=sheet.model_dump(), citations=sheet.sources
        )

    async def beat_sheet(self, show: str, premise: str, structure: str, lane: str) -> BeatSheet:
        """A beat sheet for a premise, cited; shared by 'beats' and brainstorm wrap-ups."""
        canon = await self._relevant(show, premise, self._config.search_k)
        labels = [f"S{i}" for i in range(1, len(canon) + 1)]
        by_label = dict(zip(labels, (citation(c) for c in canon), strict=True))
        characters = [e.name for e in self.bible.entities(show, "character")][:24]
        prompt = self._prompts.render(
            "beats",
            structure_label=STRUCTURE_LABELS[structure],
            show=show,
            characters=", ".join(characters) or "(none yet)",
            canon=excerpt_block(self._prompts, canon, [f"[{label}]" for label in labels]),
            premise=premise,
        )
        chars = self._config.max_field_chars

        def build(data: dict[str, Any]) -> BeatSheet:
            beats = [
                Beat(
                    name=b["name"],
                    what_happens=b["what_happens"],
                    characters=b.get("characters", []),
                    story_line=b.get("story_line"),
                    sources=[by_label[s] for s in b.get("sources", []) if s in by_label],
                )
                for b in data["beats"]
            ]
            used: list[Citation] = []
            for beat in beats:
                used += [s for s in beat.sources if s not in used]
            return BeatSheet(premise=premise, structure=structure, beats=beats, sources=used)

        sheet = await self._structured.generate(
            what="beat sheet",
            messages=[{"role": "user", "content": prompt}],
            schema=beats_schema(structure, characters, labels, chars),
            build=build,
            lane=lane,
            max_tokens=token_allowance(len(STRUCTURES[structure]) * 2, chars, overhead=80),
            temperature=self._config.structured_temperature,
        )
        return sheet

    async def _character(self, msg: IncomingMessage, show: str, name: str) -> Reply:
        found = self.bible.lookup(show, name, "character")
        if found is None or found[0].type != "character":
            nearest = self.bible.nearest_names(show, name, "character")
            what = (
                f"'{name}' is a {found[0].type}, not a character"
                if found
                else (f"'{name}' is not in the {show} bible")
            )
            hint = f" Nearest names: {', '.join(nearest)}." if nearest else ""
            return Reply(
                kind="character",
                text=f"{what}.{hint}",
                data={"found": False, "name": name, "nearest": nearest},
            )
        entity, chunks = found
        meta = chunks[0].metadata
        chars = self._config.max_field_chars
        prompt = self._prompts.render(
            "character_card",
            name=entity.name,
            show=show,
            canon=excerpt_block(self._prompts, chunks, [c.citation for c in chunks]),
        )
        card = await self._structured.generate(
            what="character card",
            messages=[{"role": "user", "content": prompt}],
            schema=character_schema(chars),
            build=lambda d: CharacterCard(
                name=entity.name,
                aliases=list(entity.aliases),
                status=str(meta["status"]) if "status" in meta else None,
                first_episode=_int_or_none(meta.get("first_episode")),
                last_episode=_int_or_none(meta.get("last_episode")),
                sources=[citation(c) for c in chunks],
                **d,
            ),
            lane=msg.lane,
            max_tokens=token_allowance(4, chars),
            temperature=self._config.structured_temperature,
        )
        return Reply(
            kind="character",
            text=render.card(card),
            data={"found": True, **card.model_dump()},
            citations=card.sources,
        )

    # ---- thread memory -------------------------------------------------------------------
    def _record_chatter(self, msg: IncomingMessage) -> None:
        text = self._prompts.render("room_chatter", author=msg.author, text=msg.text.strip())
        count = self.engine.count_tokens(text)
        self.history.append(msg.key, [Turn("writer", msg.author, msg.text, text, count)])

    def _record_command(
        self, msg: IncomingMessage, name: str, args: dict[str, Any], reply: Reply
    ) -> None:
        asked = " ".join([f"/{name}", *(str(v) for v in args.values() if v is not None)])
        prompt = self._prompts.render("room_chatter", author=msg.author, text=asked)
        count = self.engine.count_tokens
        self.history.append(
            msg.key,
            [
                Turn("writer", msg.author, asked, prompt, count(prompt)),
                Turn("assistant", "bot", reply.text, reply.text, count(reply.text)),
            ],
        )
