"""The composition root: settings in, wired services out. Nothing else reads settings, and
nothing else in ``bot/`` imports ``memory/``: the adapters get a ``Room`` and what they need
from here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agents import exporting
from agents.access import Access
from agents.agent import AgentConfig, CanonAgent
from agents.canon_editor import CanonEditor
from agents.canon_reconcile import Reconciled
from agents.export_choices import DEFAULT_FORMAT
from agents.extract import Extractor
from agents.llm.base import ModelBackend
from agents.llm.catalogue import Catalogue, ModelCatalogueError, UnknownModel, load_catalogue
from agents.llm.check import SPEED_TOKENS, ModelCheck, check_llama, check_served
from agents.llm.download import Pulled, PullError, pull
from agents.llm.llama import LlamaEngine
from agents.llm.model_files import ModelFileError, resolve_model
from agents.llm.served import ServedBackend
from agents.llm.server_info import key_in_clear
from agents.llm.server_probe import check_json_schema
from agents.messages import Attachment
from agents.prompts import Prompts
from agents.room import Room
from agents.script_import.apply import Imported, ScriptImporter
from agents.services import RoomConfig, Services
from agents.shows import ShowResolver, load_show_map
from bot.settings import Settings
from bot.terminal import terminal_message

if TYPE_CHECKING:
    from bot.discord_bot import DiscordRoom
    from bot.slack_bot import SlackRoom
from agents.errors import RoomError
from memory.backup import BackupError, Manifest, read_backup, write_backup
from memory.bible import (
    BibleStore,
    Embedder,
    IngestReport,
    InvalidShowName,
    StoreBusy,
    StoreLock,
    UnknownShow,
    open_chroma,
    show_slug,
)
from memory.bible_catalogue import CatalogueUnreadable, shows_in_store
from memory.durable import copy_tree_atomically, make_dirs
from memory.embeddings import (
    EmbeddingModelMissing,
    MiniLMEmbedder,
    default_onnx_path,
    default_tokenizer_json,
)
from memory.episodes import parse_episode
from memory.folder_lock import FolderBusy, hold, hold_all
from memory.history import HistoryStore
from memory.ideas_export import export_markdown
from memory.ledger import Ledger
from memory.progress import BYTES, ProgressFn, no_progress, stage_unit
from memory.restore import DataLayout, Restored, restore_backup
from memory.room_state import RoomState

# the progress contract, for bot/progress; what the start-up check changed, for bot/cli
__all__ = ["BYTES", "ProgressFn", "Reconciled", "stage_unit"]

log = logging.getLogger(__name__)


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
    # On a Chroma server other processes (another bot, `bible ingest`) change shows too.
    shared = bool(settings.chroma_host)
    return BibleStore(client, embedder, lock, home=settings.data_dir, shared=shared)


def open_engine(settings: Settings, progress: ProgressFn = no_progress) -> ModelBackend:
    """The model the settings name: a model server when WR_LLM_BASE_URL is set, else the
    in-process llama.cpp model, loaded now so a bad file fails at start-up."""
    if settings.llm_base_url:
        return open_served(settings)
    return open_local(settings, progress)


def open_local(settings: Settings, progress: ProgressFn = no_progress) -> LlamaEngine:
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
        max_queue=settings.max_queue,
    )
    engine.load()
    return engine


def open_served(settings: Settings) -> ServedBackend:
    """Connect to the model server, checking at start-up what would otherwise fail on a
    writer's first request: that it answers, serves the model named, and follows JSON
    schemas (beats, loglines and cards need them)."""
    assert settings.llm_base_url is not None
    if settings.llm_api_key and key_in_clear(settings.llm_base_url):
        log.warning(
            "WR_LLM_BASE_URL is plain http to another machine, so the API key crosses the "
            "network in clear: use https, or keep the model server on a private network"
        )
    backend = ServedBackend(
        settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        concurrency=settings.llm_max_concurrency,
        max_queue=settings.max_queue,
        deadline_s=settings.request_deadline_s,
        n_ctx=settings.n_ctx,
        model_kind=settings.model_kind,
        seed=settings.seed,
    )
    try:
        facts = backend.connect()
        backend.schema_dialect = check_json_schema(backend)
    except BaseException:
        backend.close()
        raise
    if facts.slots and facts.slots < settings.llm_max_concurrency:
        log.warning(
            "WR_LLM_MAX_CONCURRENCY is %d but the model server runs %d requests at once; "
            "the rest wait at the server, past the room's fair queue. Every bot sharing the "
            "server sends up to WR_LLM_MAX_CONCURRENCY: together they should fit its slots",
            settings.llm_max_concurrency,
            facts.slots,
        )
    return backend


# ---- choosing, downloading and checking a model (`writersroom model ...`) ---------------------
def model_catalogue(settings: Settings) -> Catalogue:
    """The recommended models: WR_MODEL_CATALOGUE, or the list shipped with the package.
    Reading it touches no network."""
    return load_catalogue(settings.model_catalogue)


def pull_model(settings: Settings, name: str, progress: ProgressFn = no_progress) -> Pulled:
    """Download a catalogue model into the models folder, checked (``agents.llm.download``).
    HF_ENDPOINT is huggingface_hub's own setting, read when it is imported."""
    entry = model_catalogue(settings).get(name)  # an unknown name fails before anything
    token = settings.hf_token.get_secret_value() if settings.hf_token else None
    return pull(entry, settings.models_dir, progress, token=token)


async def check_model(
    settings: Settings, progress: ProgressFn = no_progress, tokens: int = SPEED_TOKENS
) -> ModelCheck:
    """Load the configured model exactly as the room does (``open_engine``) and measure it;
    a model server is connected to and checked the same way the room starts."""
    if settings.llm_base_url:
        backend = open_served(settings)
        try:
            return await check_served(backend, tokens)
        finally:
            backend.close()
    return await check_llama(
        lambda: open_local(settings, progress), settings.n_ctx, settings.n_gpu_layers, tokens
    )


@dataclass
class App:
    settings: Settings
    bible: BibleStore
    room: Room
    closers: list[Callable[[], Any]] = field(default_factory=list)
    show: str = ""  # the show asked for, else WR_DEFAULT_SHOW
    report: IngestReport | None = None  # the first run's ingest of the sample show
    # shows re-ingested because an older version wrote them or their last ingest was cut off,
    # and those that could not be (their folder is gone)
    refreshed: list[IngestReport] = field(default_factory=list)
    not_refreshed: list[str] = field(default_factory=list)
    # shows whose promotions and promoted files the start-up check had to bring into line
    reconciled: list[Reconciled] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def ensure_sample_show(
    settings: Settings, bible: BibleStore, show: str, progress: ProgressFn = no_progress
) -> IngestReport | None:
    """First run: the default show is the bundled sample; ingest it if it is not there yet.

    The sample is copied into the data folder first: promotions into canon write to a show's
    bible folder, and that must never be the source checkout. The copy appears under the
    show's name only once it is whole (a kill leaves a hidden partial copy, cleared on the next
    start), so a half copy is never taken for the bible. A sample whose ingest was cut off is
    there but unfinished: ``refresh_outdated`` finishes it."""
    if bible.has_show(show) or show != settings.default_show:
        return None
    if not settings.sample_bible.is_dir():
        return None
    folder = settings.bibles_dir / show
    make_dirs(settings.bibles_dir)
    with hold(settings.bibles_dir):  # one copier at a time (processes on one Chroma server)
        copy_tree_atomically(settings.sample_bible, folder)
    return bible.ingest(folder, show, progress)


def refresh_outdated(
    bible: BibleStore, progress: ProgressFn = no_progress
) -> tuple[list[IngestReport], list[str]]:
    """Re-ingest shows an older version wrote, from their own folders, so what this version
    reads from the bible (episode dates, reveals) is there; and shows whose last ingest was cut
    off (a kill, a crash), from the folder it was reading, so every start converges on the
    folders. A show whose folder is gone is named, to be ingested again by hand."""
    done, missing = [], []
    cut_off = bible.interrupted()
    for show in sorted(set(bible.outdated()) | set(cut_off)):
        folder = cut_off.get(show) or bible.source_dir(show)
        if folder is None or not folder.is_dir():
            missing.append(show)
            continue
        done.append(bible.ingest(folder, show, progress))
    return done, missing


def reconcile_canon(bible: BibleStore, canon: CanonEditor) -> list[Reconciled]:
    """Bring each show's promotions and promoted files back into agreement after a kill
    (``agents.canon_reconcile``); only the shows where something changed are returned."""
    settled = [canon.reconcile(show) for show in bible.shows()]
    return [r for r in settled if r is not None and (r.changed or r.cleared)]


def access_of(settings: Settings) -> Access:
    """Who may link channels and edit canon, per platform (see agents.access)."""
    discord_admins = frozenset(str(i) for i in settings.discord_admin_role_ids)
    return Access(
        admins={"slack": settings.slack_admin_ids, "discord": discord_admins},
        editors={
            "slack": settings.slack_canon_editor_ids,
            "discord": frozenset(str(i) for i in settings.discord_canon_editor_ids),
            "terminal": settings.terminal_canon_writer_names,
        },
        open_platforms=frozenset({"terminal"}),
    )


def room_config(settings: Settings) -> RoomConfig:
    return RoomConfig(
        max_message_chars=settings.max_message_chars,
        max_upload_bytes=settings.max_upload_bytes,
        search_k=settings.search_k,
        max_field_chars=settings.max_field_chars,
        relevance_threshold=settings.relevance_threshold,
        riff_max_tokens=settings.max_tokens,
        summary_chars=2 * settings.max_field_chars,
        transcript_token_budget=settings.history_token_budget,
        deadline_s=settings.request_deadline_s,
    )


def build_app(
    settings: Settings,
    progress: ProgressFn = no_progress,
    *,
    engine: ModelBackend | None = None,
    embedder: Embedder | None = None,
    show: str | None = None,
) -> App:
    """Wire the room. Tests and benchmarks may pass a backend or embedder to share one.
    With ``show``, the first run ingests the bundled sample if that is the show asked for."""
    closers: list[Callable[[], Any]] = []
    try:
        bible = open_bible(settings, embedder)
        closers.append(bible.close)
        if engine is None:
            own = open_engine(settings, progress)
            closers.append(own.close)
            engine = own
        history = HistoryStore(settings.history_path)
        closers.append(history.close)
        ledger = Ledger(settings.ledger_path)
        closers.append(ledger.close)
        state = RoomState(settings.state_path)
        closers.append(state.close)
    except BaseException:  # a store or the model that failed to open: close what did
        for close in reversed(closers):
            close()
        raise
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
    services = Services(
        backend=engine,
        bible=bible,
        history=history,
        ledger=ledger,
        state=state,
        prompts=prompts,
        agent=agent,
        extractor=extractor,
        canon=CanonEditor(bible, ledger, read_only=[settings.sample_bible]),
        shows=ShowResolver(
            state, load_show_map(settings.show_map), settings.default_show, bible.shows
        ),
        access=access_of(settings),
        config=room_config(settings),
    )
    wanted = show or settings.default_show
    app = App(settings, bible, Room(services), closers, show_slug(wanted) if wanted else "")
    try:
        if app.show:
            app.report = ensure_sample_show(settings, bible, app.show, progress)
        app.reconciled = reconcile_canon(bible, services.canon)
        app.refreshed, app.not_refreshed = refresh_outdated(bible, progress)
    except BaseException:
        app.close()
        raise
    return app


class BadSetting(ValueError):
    """A setting that cannot be used, named as the writer sets it (WR_...)."""


def load_settings() -> Settings:
    """Settings from the environment and .env, read once for the whole process."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadSetting(f"setting WR_{str(first['loc'][0]).upper()}: {first['msg']}") from None


class MissingSecret(RuntimeError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            f"Set {' and '.join(names)} (in .env or the environment) to connect to the chat "
            "platform; the README's setup section says where to find them."
        )


def episode_code(value: str) -> str:
    """A writer's --as-of, checked (raises ValueError saying which forms work). Kept as
    written: the room reads a bare number in the season the show's bible reached."""
    parse_episode(value)
    return value


def check_slack(settings: Settings, http: bool) -> None:
    """Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (Socket Mode also
    SLACK_APP_TOKEN); checked before the room is assembled, so a missing one fails fast."""
    needed = [] if http else [("SLACK_APP_TOKEN", settings.slack_app_token)]
    needed += [
        ("SLACK_BOT_TOKEN", settings.slack_bot_token),
        ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
    ]
    missing = [name for name, value in needed if value is None]
    if missing:
        raise MissingSecret(missing)


def check_discord(settings: Settings) -> None:
    if settings.discord_token is None:
        raise MissingSecret(["DISCORD_TOKEN"])


def build_slack(app: App) -> SlackRoom:
    """The Slack adapter on an assembled room (``check_slack`` first)."""
    from bot.slack_bot import SlackRoom

    s = app.settings
    check_slack(s, http=True)
    assert s.slack_bot_token is not None and s.slack_signing_secret is not None
    return SlackRoom(
        app.room,
        bot_token=s.slack_bot_token.get_secret_value(),
        signing_secret=s.slack_signing_secret.get_secret_value(),
        api_url=s.slack_api_url,
    )


def slack_app_token(app: App) -> str:
    token = app.settings.slack_app_token
    if token is None:
        raise MissingSecret(["SLACK_APP_TOKEN"])
    return token.get_secret_value()


def build_discord(app: App) -> tuple[DiscordRoom, str, str | None]:
    """The Discord adapter, its token and API base (a local server, in tests)."""
    from bot.discord_bot import DiscordRoom

    s = app.settings
    check_discord(s)
    assert s.discord_token is not None
    return DiscordRoom(app.room), s.discord_token.get_secret_value(), s.discord_api_base


# ---- what the command line does without a room ----------------------------------------------
class NotFound(RoomError):
    """Something the command line was asked for does not exist (a show, a ledger)."""


# Failures whose message is written for the person at the keyboard: printed, no traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    RoomError,
    ModelFileError,
    EmbeddingModelMissing,
    UnknownShow,
    InvalidShowName,
    StoreBusy,
    FolderBusy,
    MissingSecret,
    BackupError,
    CatalogueUnreadable,
    ModelCatalogueError,
    UnknownModel,
    PullError,
    FileNotFoundError,
)


def show_name(name: str) -> str:
    """A show as the bible names it ('Lantern Line' -> 'lantern-line')."""
    return show_slug(name)


def ingest(settings: Settings, directory: Path, show: str, progress: ProgressFn) -> IngestReport:
    bible = open_bible(settings)
    try:
        return bible.ingest(directory, show_slug(show), progress)
    finally:
        bible.close()


def import_script(
    settings: Settings, path: Path, show: str, episode: str | None, progress: ProgressFn
) -> Imported:
    """``writersroom bible import``: a script file into a show's bible folder, re-ingested.
    Only the first bytes past the size limit are read, so a huge file costs nothing."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            data = handle.read(settings.max_upload_bytes + 1)
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from exc
    bible = open_bible(settings)
    try:
        slug = show_slug(show)
        ensure_sample_show(settings, bible, slug)
        if not bible.has_show(slug):
            raise UnknownShow(slug, bible.shows())
        importer = ScriptImporter(bible, read_only=[settings.sample_bible])
        return importer.run(
            slug, path.name, data, settings.max_upload_bytes, episode, progress, size
        )
    finally:
        bible.close()


def list_shows(settings: Settings) -> tuple[list[str], list[str]]:
    """Every show, and those whose last ingest was cut off (listed too: they hold what that
    ingest wrote, and the next start finishes them)."""
    bible = open_bible(settings)
    try:
        return bible.shows(), sorted(bible.interrupted())
    finally:
        bible.close()


def search(settings: Settings, show: str | None, query: str, k: int) -> tuple[str, list[Any]]:
    """The show searched and its hits (``agents.render`` shows them)."""
    bible = open_bible(settings)
    try:
        slug = show_slug(show or settings.default_show)
        ensure_sample_show(settings, bible, slug)
        refresh_outdated(bible)  # a show whose ingest was cut off is finished before a search
        if not bible.has_show(slug):
            raise UnknownShow(slug, bible.shows())
        return slug, bible.search(slug, query, k=k)
    finally:
        bible.close()


def export_ideas(settings: Settings, show: str) -> str:
    """A show's ideas ledger as Markdown: reads the ledger only, no model, no Chroma lock."""
    slug = show_slug(show)
    if not settings.ledger_path.exists():
        raise NotFound("no ideas ledger yet: no brainstorm has been held on this machine.")
    ledger = Ledger(settings.ledger_path)
    try:
        shows = ledger.log.shows()
        if slug not in shows:
            known = ", ".join(shows) or "none"
            raise NotFound(f"no brainstorms for '{slug}' (shows with brainstorms: {known}).")
        return export_markdown(ledger, slug)
    finally:
        ledger.close()


def export_result(
    settings: Settings, show: str | None, thread: str, what: str | None, fmt: str | None
) -> tuple[Attachment, str]:
    """A thread's latest beat sheet, wrap-up, scene or shot list as a file, and a line saying
    what it is. Reads the SQLite stores only: no model, no bible, no Chroma lock."""
    slug = show_slug(show or settings.default_show)
    if what is not None and fmt is not None:
        exporting.check_format(what, fmt)
    where = f"Thread '{thread}' of {slug}: "
    if not settings.history_path.exists():
        raise NotFound(where + exporting.nothing_to_export(what, "/"))
    history = HistoryStore(settings.history_path)
    ledger = Ledger(settings.ledger_path) if settings.ledger_path.exists() else None
    try:
        log = ledger.log if ledger is not None else None
        local = terminal_message("export", writer="cli", thread=thread).key
        key, bs = exporting.find_thread(history, log, slug, thread, local)
        stored = exporting.latest(history, log, slug, [key], bs, what)
        if stored is None:
            raise NotFound(where + exporting.nothing_to_export(what, "/"))
        fmt = fmt or DEFAULT_FORMAT[stored.what]
        file = exporting.attachment(stored, fmt)
        return file, "Exported " + exporting.described(stored, fmt, file.name)
    finally:
        history.close()
        if ledger is not None:
            ledger.close()


# ---- backup and restore (memory.backup, memory.restore) -------------------------------------
def data_layout(settings: Settings) -> DataLayout:
    home = settings.data_dir.absolute()
    return DataLayout(
        home=home,
        databases={
            "history": home / settings.history_path.name,
            "ledger": home / settings.ledger_path.name,
            "state": home / settings.state_path.name,
        },
        bibles=home / settings.bibles_dir.name,
        chroma=None if settings.chroma_host else settings.resolved_chroma_path.absolute(),
    )


def bible_folders(settings: Settings) -> dict[str, Path | None]:
    """Each show's bible folder. The embedded store is read through its catalogue, which a
    running bot does not hold; a Chroma server is asked."""
    layout = data_layout(settings)
    if layout.chroma is not None:
        return shows_in_store(layout.chroma, layout.home)
    bible = open_bible(settings)
    try:
        return {show: bible.source_dir(show) for show in bible.shows()}
    finally:
        bible.close()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("writersroom")
    except PackageNotFoundError:
        return "unknown"


def backup(settings: Settings, target: Path, progress: ProgressFn = no_progress) -> Manifest:
    """Back up the data dir into ``target``: safe while the bot runs."""
    layout = data_layout(settings)
    folders = bible_folders(settings)
    where = target.absolute().resolve()
    inside = [layout.bibles, *(f for f in folders.values() if f is not None)]
    if layout.chroma is not None:
        inside.append(layout.chroma)
    if any(where.is_relative_to(f.resolve()) for f in inside):
        raise BackupError(
            "The backup folder lies inside what it backs up (a bible folder or the bible "
            "store); choose a folder outside them. Nothing was written."
        )
    return write_backup(target, layout.databases, folders, layout.home, _version(), progress)


@dataclass
class RestoreSummary:
    """What the restored data dir holds, read back by opening its stores."""

    restored: Restored
    sections: dict[str, int]  # show -> sections in the rebuilt index
    turns: int
    brainstorms: int


def restore(
    settings: Settings,
    source: Path,
    force: bool = False,
    progress: ProgressFn = no_progress,
    embedder: Embedder | None = None,
) -> RestoreSummary:
    """Restore a backup into the configured data dir and rebuild the bible index from its
    folders. The bot must be stopped (the embedded store's lock says so)."""
    manifest = read_backup(source, progress)
    layout = data_layout(settings)
    # A bot running on this data dir holds its embedded store: refused (StoreBusy).
    chroma = layout.chroma
    lock = StoreLock(chroma) if chroma is not None and chroma.is_dir() else None
    opened: list[Embedder] = []  # the embedder, opened once the data dir may be restored into
    try:

        def reindex(
            home: Path, chroma: Path | None, folders: dict[str, Path], progress: ProgressFn
        ) -> list[IngestReport]:
            opened.append(embedder or open_embedder(settings))
            client, store_lock = open_chroma(chroma, settings.chroma_host, settings.chroma_port)
            bible = BibleStore(client, opened[0], store_lock, home=home, shared=chroma is None)
            try:
                return [bible.ingest(folder, show, progress) for show, folder in folders.items()]
            finally:
                bible.close()  # closes the client too: the store is renamed next

        # On a Chroma server nothing stops the bots (no store lock): the bible folders being
        # replaced are held, so no canon change or ingest is half-way through the swap.
        with hold_all(replaced_folders(layout)):
            restored = restore_backup(source, manifest, layout, reindex, force, progress)
    finally:
        if lock is not None:
            lock.release()
    return _opened(settings, restored, opened[0])


def replaced_folders(layout: DataLayout) -> list[Path]:
    """The bibles folder (first runs copy the sample into it holding its lock) and each show's
    folder in it: what a restore moves aside."""
    if not layout.bibles.is_dir():
        return []
    shows = [p for p in layout.bibles.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [layout.bibles, *shows]


def _opened(settings: Settings, restored: Restored, embedder: Embedder) -> RestoreSummary:
    """Open every restored store, as the bot will: a restore is done when they open."""
    bible, history, ledger = open_bible(settings, embedder), None, None
    try:
        history, ledger = HistoryStore(settings.history_path), Ledger(settings.ledger_path)
        RoomState(settings.state_path).close()
        sections = {show: bible.count(show) for show in restored.manifest.shows}
        brainstorms = sum(len(ledger.log.brainstorms(show)) for show in ledger.log.shows())
        return RestoreSummary(restored, sections, history.count(), brainstorms)
    finally:
        for store in (ledger, history, bible):
            if store is not None:
                store.close()
