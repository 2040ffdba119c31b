"""The composition root: settings in, wired services out. Nothing else reads settings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agents.agent import AgentConfig, CanonAgent
from agents.backend import ModelBackend
from agents.brainstorm import BrainstormConfig, Brainstorms
from agents.canon import relevant_chunks
from agents.canon_editor import CanonEditor
from agents.engine import LlamaEngine
from agents.extract import Extractor
from agents.model_files import resolve_model
from agents.prompts import Prompts
from agents.room import Room, RoomConfig
from agents.shows import ShowResolver, load_show_map
from agents.structured import StructuredGenerator
from bot.settings import Settings
from bot.slack_bot import SlackRoom
from memory.bible import BibleStore, Embedder, IngestReport, open_chroma
from memory.embeddings import MiniLMEmbedder, default_onnx_path, default_tokenizer_json
from memory.history import HistoryStore
from memory.ledger import Ledger
from memory.progress import ProgressFn, no_progress
from memory.room_state import RoomState


def open_embedder(settings: Settings) -> MiniLMEmbedder:
    return MiniLMEmbedder(
        default_onnx_path(),
        default_tokenizer_json(settings.data_dir / "embeddings"),
        threads=settings.n_threads,
    )


def open_bible(settings: Settings, embedder: Embedder | None = None) -> BibleStore:
    embedder = embedder or open_embedder(settings)
    client, lock = open_chroma(
        settings.resolved_chroma_path, settings.chroma_host, settings.chroma_port
    )
    return BibleStore(client, embedder, lock)


def open_engine(settings: Settings, progress: ProgressFn = no_progress) -> LlamaEngine:
    path, chat_format = resolve_model(settings.model_path, settings.models_dir, progress)
    engine = LlamaEngine(
        path,
        chat_format=settings.chat_format or chat_format,
        n_ctx=settings.n_ctx,
        n_batch=settings.n_batch,
        n_gpu_layers=settings.n_gpu_layers,
        n_threads=settings.n_threads,
        seed=settings.seed,
        deadline_s=settings.request_deadline_s,
        model_kind=settings.model_kind,
    )
    engine.load()
    return engine


@dataclass
class App:
    settings: Settings
    bible: BibleStore
    room: Room
    history: HistoryStore
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def ensure_sample_show(
    settings: Settings, bible: BibleStore, show: str, progress: ProgressFn = no_progress
) -> IngestReport | None:
    """First run: the default show is the bundled sample; ingest it if it is not there yet.

    The sample is copied into the data folder first: promotions into canon write to a show's
    bible folder, and that must never be the source checkout."""
    if bible.has_show(show) or show != settings.default_show:
        return None
    if not settings.sample_bible.is_dir():
        return None
    folder = settings.bibles_dir / show
    if not folder.exists():
        shutil.copytree(settings.sample_bible, folder)
    return bible.ingest(folder, show, progress)


def build_app(
    settings: Settings,
    progress: ProgressFn = no_progress,
    *,
    engine: ModelBackend | None = None,
    embedder: Embedder | None = None,
) -> App:
    """Wire the room. Tests and benchmarks may pass an engine or embedder to share one."""
    bible = open_bible(settings, embedder)
    closers: list[Callable[[], Any]] = []
    if engine is None:
        own = open_engine(settings, progress)
        closers.append(own.close)
        engine = own
    history = HistoryStore(settings.history_path)
    prompts = Prompts()
    extractor = Extractor(bible.embed)
    agent = CanonAgent(
        engine=engine,
        bible=bible,
        history=history,
        prompts=prompts,
        config=AgentConfig(
            search_k=settings.search_k,
            history_token_budget=settings.history_token_budget,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            relevance_threshold=settings.relevance_threshold,
            deadline_s=settings.request_deadline_s,
            answer_mode=settings.answer_mode,
        ),
        extractor=extractor,
    )
    structured = StructuredGenerator(
        engine, seed=settings.seed, deadline_s=settings.request_deadline_s
    )
    ledger = Ledger(settings.ledger_path)
    brainstorms = Brainstorms(
        engine=engine,
        bible=bible,
        ledger=ledger,
        prompts=prompts,
        structured=structured,
        relevant=partial(relevant_chunks, bible, settings.relevance_threshold),
        config=BrainstormConfig(
            max_tokens=settings.max_tokens,
            max_field_chars=settings.max_field_chars,
            summary_chars=2 * settings.max_field_chars,
            transcript_token_budget=settings.history_token_budget,
            deadline_s=settings.request_deadline_s,
        ),
        extractor=extractor,
    )
    room = Room(
        engine=engine,
        bible=bible,
        history=history,
        prompts=prompts,
        agent=agent,
        structured=structured,
        brainstorms=brainstorms,
        canon=CanonEditor(bible, ledger, read_only=[settings.sample_bible]),
        config=RoomConfig(
            max_message_chars=settings.max_message_chars,
            search_k=settings.search_k,
            max_field_chars=settings.max_field_chars,
            relevance_threshold=settings.relevance_threshold,
        ),
    )
    closers += [bible.close, history.close, ledger.close]
    return App(settings, bible, room, history, closers)


def build_slack(app: App, state: RoomState) -> SlackRoom:
    """The Slack adapter on an assembled room; needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET
    (Socket Mode also SLACK_APP_TOKEN)."""
    s = app.settings
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", s.slack_bot_token),
            ("SLACK_SIGNING_SECRET", s.slack_signing_secret),
        )
        if value is None
    ]
    if missing:
        raise MissingSecret(missing)
    assert s.slack_bot_token is not None and s.slack_signing_secret is not None
    shows = ShowResolver(state, load_show_map(s.show_map), s.default_show)
    return SlackRoom(
        app.room,
        shows,
        state,
        bot_token=s.slack_bot_token.get_secret_value(),
        signing_secret=s.slack_signing_secret.get_secret_value(),
        api_url=s.slack_api_url,
        admins=s.slack_admin_ids,
        canon_editors=s.slack_canon_editor_ids,
    )


class MissingSecret(RuntimeError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"Set {' and '.join(names)} (in .env or the environment) to connect to the chat "
            "platform; the README's setup section says where to find them."
        )
