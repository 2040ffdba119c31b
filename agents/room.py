"""The one door into the core: ``Room.handle(event)`` for every message, command and
reaction from every platform.

It checks input, resolves the show (a brainstorm thread keeps the show it began with; else
the platform's own choice, the channel's mapping, the settings file, then the default),
decides what the author may do, runs the command from the registry (or the canon agent for
free text) and turns every failure into a short message for the writer. A brainstorm keeps
every message said in it. Results and the message that asked for them are saved to the
thread only when the request succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from agents import commands
from agents.brainstorm import counts_as_vote, message_kind, pitch_result, record
from agents.commands import Call, CommandSpec
from agents.commands.riff import riff
from agents.continuity.run import flag_lines
from agents.errors import BadRequest, RoomError
from agents.inbound import NOTHING_SAVED, one_file, text_param
from agents.messages import Command, Final, Message, Reaction, Reply, RoomEvent, Update, Working
from agents.render import as_of_note, plain
from agents.schemas import PitchResult
from agents.services import Services
from agents.shows import NoShowForChannel
from memory.bible import InvalidShowName, UnknownShow, show_slug
from memory.episodes import Episode
from memory.folder_lock import FolderBusy
from memory.history import Turn
from memory.ledger import Brainstorm

log = logging.getLogger(__name__)
SUGGESTIONS = 25  # Discord's limit on autocomplete choices


# Failures whose message is written for the writer (a bad request, an unknown or unusable
# show, a bible another process is changing): shown as they are, where anything else gets
# ``internal_error``.
WRITER_ERRORS = (RoomError, UnknownShow, InvalidShowName, FolderBusy)


def internal_error(exc: Exception) -> str:
    return (
        f"Something went wrong on the bot's side ({type(exc).__name__}); nothing was saved. "
        "Try again, and if it keeps happening, ask whoever runs the bot to check its log."
    )


def said_as_text(spec: CommandSpec, args: dict[str, Any]) -> str:
    """A command given with typed options, as the writer would have typed it."""
    words = [f"/{spec.name}"]
    for param in spec.params:
        value = args.get(param.name)
        if value is True:
            words.append(param.name)  # a flag: 'wrap beats'
        elif value is not None and value is not False:
            words.append(str(value))
    return " ".join(words)


def files_need_a_command(event: RoomEvent) -> BadRequest:
    """An attached file said to the bot without a command that reads it."""
    known = {c.name for c in commands.commands()}
    some: list[str] = [n for n in ("doctor", "shots", "translate", "synopsis") if n in known]
    some = some or ["help"]
    return BadRequest(
        "I read an attached file only with a command that takes text: send it with "
        f"`{event.addressed_as} {some[0]}`"
        + (f" (or {', '.join(some[1:])})" if some[1:] else "")
        + f", or see `{event.prefix}help` for the list. {NOTHING_SAVED}"
    )


def with_as_of(reply: Reply, as_of: Episode) -> Reply:
    """A reply that says which episode it reasons as of."""
    text = f"{as_of_note(as_of.code)}\n{reply.text}" if reply.text else reply.text
    return reply.model_copy(update={"as_of": as_of.code, "text": text})


class Room:
    def __init__(self, services: Services) -> None:
        self.services = services

    # ---- the door ------------------------------------------------------------------------
    async def handle(self, event: RoomEvent) -> AsyncIterator[Update]:
        """Every event in; ``Working``, ``Delta`` and one ``Final`` out."""
        try:
            if isinstance(event, Reaction):
                yield Final(await asyncio.to_thread(self._react, event))
                return
            async for update in self._dispatch(event):
                yield update
        except WRITER_ERRORS as exc:
            yield Final(Reply.error(str(exc)))
        except Exception as exc:  # the writer always gets an answer; the log gets the detail
            log.exception("request failed")
            yield Final(Reply.error(internal_error(exc)))

    async def _dispatch(self, event: RoomEvent) -> AsyncIterator[Update]:
        if isinstance(event, Message) and (event.mentions_bot or event.in_bot_thread):
            await asyncio.to_thread(self._join, event)  # follow-ups there need no mention
        command = self._command(event)
        brainstorm = await asyncio.to_thread(self.services.ledger.log.brainstorm, event.key)
        if command is None and isinstance(event, Message) and event.files:
            if brainstorm is not None and not event.mentions_bot:
                if not event.text.strip():  # a file shared in a brainstorm: not a pitch
                    yield Final(Reply.noted())
                    return  # with words, they are said to the room; the file is not read
            elif (event.mentions_bot or event.in_bot_thread) and not event.text.strip():
                raise files_need_a_command(event)
        if brainstorm is not None:
            said = said_as_text(*command) if isinstance(event, Command) and command else None
            text = said or (event.text if isinstance(event, Message) else "")
            kind = message_kind(event, command is not None)
            ack = await asyncio.to_thread(
                record, self.services.ledger, event, text, brainstorm, kind
            )
            if ack is not None:
                yield Final(await asyncio.to_thread(self._checked_pitch, event, brainstorm, ack))
                return
        if command is not None:
            async for update in self._run(event, *command, brainstorm):
                yield update
            return
        assert isinstance(event, Message)
        if brainstorm is not None:
            if event.mentions_bot:  # said to the bot in a brainstorm: a riff on its words
                call = self._call(event, commands.get_command("riff"), {"pitch": None}, brainstorm)
                async for update in riff(call, brainstorm, None, event.text):
                    yield update
            else:
                yield Final(Reply.noted())
        elif event.mentions_bot or event.in_bot_thread:
            show = self._show(event, None)
            as_of = await asyncio.to_thread(self._as_of, event, show)
            yield Working()
            async for update in self.services.agent.answer(event, show, as_of):
                yield update
        else:
            await asyncio.to_thread(self._record_chatter, event)
            yield Final(Reply.noted())

    def _command(self, event: RoomEvent) -> tuple[CommandSpec, dict[str, Any]] | None:
        """The command an event gives, with checked arguments; None for a question or chat."""
        if isinstance(event, Command):
            spec = commands.get_command(event.name)
            for value in event.args.values():  # typed text; an attached file has its own limit
                if isinstance(value, str) and value.strip():
                    self._check_text(value)
            return spec, commands.validate_args(spec, event.args, self._attached(event, spec))
        assert isinstance(event, Message)
        if event.files and not event.text.strip():
            return None  # a file without words: see _dispatch
        text = self._check_text(event.text)
        words = text.split()
        first = words[0].lower().lstrip("/") if words else ""
        named = next((c for c in commands.commands() if c.name == first), None)
        if text.startswith("/"):
            return commands.parse_command(text, self._attached(event, named))
        if event.mentions_bot:
            # A file is read only for a command that takes one; a question that comes with a
            # screenshot is answered, and its file left alone.
            takes = named is not None and text_param(named) is not None
            return commands.addressed_command(text, self._attached(event, named) if takes else None)
        return None

    def _attached(self, event: RoomEvent, spec: CommandSpec | None) -> str | None:
        """The text of the one file the event carries (bounded by the upload limit, not the
        message limit: commands refuse what their model cannot read); None without one, and
        for a command that reads its files itself (``takes_files``)."""
        if spec is not None and spec.takes_files:
            return None
        return one_file(event.files, self.services.config.max_upload_bytes)

    @property
    def max_upload_bytes(self) -> int:
        """The largest file adapters download for the core (WR_MAX_UPLOAD_BYTES)."""
        return self.services.config.max_upload_bytes

    def _call(
        self,
        event: RoomEvent,
        spec: CommandSpec,
        args: dict[str, Any],
        brainstorm: Brainstorm | None,
    ) -> Call:
        if spec.brainstorm_only and brainstorm is None:
            raise BadRequest(
                f"'{spec.name}' works inside a brainstorm thread: there, say "
                f"`{event.addressed_as} {spec.name}`. Start one with: "
                f"{event.prefix}brainstorm TOPIC"
            )
        access = self.services.access
        show = self._show(event, brainstorm) if spec.needs_show else ""
        return Call(
            event=event,
            show=show,
            args=args,
            services=self.services,
            brainstorm=brainstorm,
            may_edit_canon=access.may_edit_canon(event),
            is_admin=access.is_admin(event),
            as_of=self._as_of(event, show) if show else None,
        )

    async def _run(
        self,
        event: RoomEvent,
        spec: CommandSpec,
        args: dict[str, Any],
        brainstorm: Brainstorm | None,
    ) -> AsyncIterator[Update]:
        call = self._call(event, spec, args, brainstorm)
        if spec.stream is not None:
            async for update in spec.stream(call):
                yield update
            return
        assert spec.handler is not None
        if spec.slow:
            yield Working()
        reply = await spec.handler(call)
        if call.as_of is not None and reply.ok and spec.notes_as_of:
            reply = with_as_of(reply, call.as_of)
        if spec.private:
            reply = reply.model_copy(update={"private": True})
        if reply.ok and spec.records:
            await asyncio.to_thread(self._record_command, event, call.show, spec, args, reply)
        yield Final(reply)

    # ---- reactions -----------------------------------------------------------------------
    def _react(self, event: Reaction) -> Reply:
        """A vote when the message is a pitch and the reaction is not a thumbs-down."""
        pitches = self.services.ledger.pitches
        pitch = pitches.by_ref(event.platform, event.workspace, event.message_id)
        if pitch is None or not counts_as_vote(event.meaning or event.token):
            return Reply.noted()
        if event.added:
            pitches.vote(pitch, event.actor, event.token)
        else:
            pitches.unvote(pitch, event.actor, event.token)
        now = pitches.by_id(pitch.id)
        assert now is not None
        return Reply(kind="vote", text="", result=pitch_result(now))

    def _checked_pitch(self, event: RoomEvent, bs: Brainstorm, ack: Reply) -> Reply:
        """A pitch's acknowledgement, with one continuity line when the quick (deterministic)
        check finds a contradiction. The pitch is already in the ledger either way."""
        if not isinstance(ack.result, PitchResult):
            return ack
        try:
            as_of = self._as_of(event, bs.show)
        except RoomError:
            as_of = None
        lines = flag_lines(self.services.bible, bs.show, ack.result.text, as_of)
        if not lines:
            return ack
        result = ack.result.model_copy(update={"continuity": lines})
        return ack.model_copy(update={"text": f"{ack.text}\n{lines[0]}", "result": result})

    # ---- shows and episodes --------------------------------------------------------------
    def _as_of(self, event: RoomEvent, show: str) -> Episode | None:
        """The CLI's --as-of, else the thread's `episode`, else the channel's."""
        state = self.services.state
        code = event.as_of or state.episode(
            event.platform, event.workspace, event.channel, event.thread
        )
        return self.services.episode(show, code) if code else None

    def _show(self, event: RoomEvent, brainstorm: Brainstorm | None) -> str:
        """A brainstorm keeps its show; else the platform's choice or the channel's."""
        services = self.services
        named = (
            brainstorm.show
            if brainstorm is not None
            else event.show
            or services.shows.resolve(
                event.platform, event.workspace, event.channel, event.author_id, event.direct
            )
        )
        if named is None:
            raise NoShowForChannel(event.prefix)
        slug = show_slug(named)
        if not services.bible.has_show(slug):
            # Only admins learn which other shows this machine holds.
            known = services.bible.shows() if services.access.sees_all_shows(event) else None
            raise UnknownShow(slug, known)
        return slug

    def _show_of(self, event: RoomEvent) -> str:
        """The show the channel works on, or '' where it has none yet: room talk is kept
        either way, under the show it was said about."""
        try:
            return self._show(event, None)
        except WRITER_ERRORS:
            return ""

    def suggest(self, event: RoomEvent, source: str, typed: str) -> list[str]:
        """Autocomplete for a parameter's ``complete`` source: names that contain ``typed``."""
        bible = self.services.bible
        if source == "commands":
            names = [c.name for c in commands.commands()]
        elif source == "shows":  # only admins link channels, and only they see every show
            names = bible.shows() if self.services.access.is_admin(event) else []
        else:
            try:
                show = self._show(event, self.services.ledger.log.brainstorm(event.key))
                as_of = self._as_of(event, show)
            except WRITER_ERRORS:
                return []
            kind = source.removesuffix("s")  # 'characters' -> entries of type 'character'
            names = [e.name for e in bible.entities(show, kind, as_of)]
        return [n for n in names if typed.lower() in n.lower()][:SUGGESTIONS]

    # ---- delivery bookkeeping for the platforms ------------------------------------------
    def first_delivery(self, platform: str, event_id: str) -> bool:
        """False when a platform delivers an event again (a retry): answer once."""
        return self.services.state.first_delivery(platform, event_id)

    def _join(self, event: RoomEvent) -> None:
        self.services.state.join_thread(
            event.platform, event.workspace, event.channel, event.thread
        )

    def in_thread(self, platform: str, workspace: str, channel: str, thread: str) -> bool:
        """Has the bot taken part in this thread (so a message there is for it)?"""
        return self.services.state.in_thread(platform, workspace, channel, thread)

    # ---- checks and thread memory --------------------------------------------------------
    def _check_text(self, text: str) -> str:
        text, limit = text.strip(), self.services.config.max_message_chars
        if not text:
            raise BadRequest("Your message is empty. Ask something about the show, or try: help")
        if len(text) > limit:
            raise BadRequest(
                f"That message is {len(text):,} characters; the room takes up to {limit:,}. "
                "Send the part that matters, or add long material to the bible (writersroom "
                "bible ingest). Nothing was saved."
            )
        return text

    def _record_chatter(self, event: Message) -> None:
        services = self.services
        text = services.prompts.render("room_chatter", author=event.author, text=event.text.strip())
        count = services.backend.count_tokens(text)
        turn = Turn("writer", event.author, event.text, text, count)
        services.history.append(event.key, self._show_of(event), [turn])

    def _record_command(
        self, event: RoomEvent, show: str, spec: CommandSpec, args: dict[str, Any], reply: Reply
    ) -> None:
        services = self.services
        asked = said_as_text(spec, args)
        prompt = services.prompts.render("room_chatter", author=event.author, text=asked)
        count = services.backend.count_tokens
        services.history.append(
            event.key,
            show,
            [
                Turn("writer", event.author, asked, prompt, count(prompt)),
                Turn(
                    "assistant",
                    "bot",
                    plain(reply.text),
                    plain(reply.text),
                    count(reply.text),
                    kind=reply.kind,
                    result=reply.result.model_dump_json() if reply.result is not None else None,
                ),
            ],
        )
