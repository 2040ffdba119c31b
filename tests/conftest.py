"""Shared fixtures: the real bundled GGUF, real MiniLM embeddings, real Chroma and SQLite.

The model and the embedder are loaded once per session (they are read-only between
requests); every test gets its own data dir, Chroma store and thread database.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from agents.llm.llama import LlamaEngine
from agents.llm.model_files import assemble_bundled
from agents.llm.scripted import ScriptedBackend
from agents.messages import Command, Delta, Final, Message, Reply, final_reply
from agents.schemas import STRUCTURES, Answer, BeatSheet
from agents.text import norm
from bench.llama_server import LlamaServer, free_port, start_llama_server
from bot.compose import App, build_app, open_embedder
from bot.settings import Settings
from memory.embeddings import MiniLMEmbedder

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "lantern_line"
SHOW = "lantern-line"


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble_bundled(tmp_path_factory.mktemp("models"))


@pytest.fixture
def settings(tmp_path: Path, model_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        model_path=model_path,
        chat_format="gemma",
        n_ctx=4096,
        max_tokens=40,
        max_field_chars=40,
        request_deadline_s=120,
        sample_bible=SAMPLE,
        # Who may do what on each platform (agents.access): the fakes' users and roles.
        slack_admins="UADMIN",
        slack_canon_editors="UANA",
        discord_admin_roles="777",
        discord_canon_editors="4242",
        terminal_canon_writers="ana",
    )


@pytest.fixture(scope="session")
def engine(model_path: Path) -> Iterator[LlamaEngine]:
    eng = LlamaEngine(
        model_path,
        chat_format="gemma",
        n_ctx=4096,
        n_batch=512,
        n_gpu_layers=0,
        n_threads=None,
        seed=1234,
        deadline_s=120,
    )
    eng.load()
    yield eng
    eng.close()


class RememberingEmbedder:
    """The real MiniLM embedder, remembering each text's vector for the session.

    Most tests ingest the same sample bible into a fresh store; embedding its 64 sections
    again each time cost about a second a test. The vectors are the real model's."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self._inner = inner
        self._known: dict[str, np.ndarray] = {}

    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self._known))
        if new:
            self._known.update(zip(new, self._inner.embed(new), strict=True))
        if progress is not None:
            progress(len(texts), len(texts))
        if not texts:
            return self._inner.embed([])
        return np.stack([self._known[t] for t in texts])


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> RememberingEmbedder:
    base = tmp_path_factory.mktemp("emb")
    return RememberingEmbedder(open_embedder(Settings(_env_file=None, data_dir=base)))  # type: ignore[call-arg]


@pytest.fixture
def app(
    settings: Settings, engine: LlamaEngine, embedder: MiniLMEmbedder, tmp_path: Path
) -> Iterator[App]:
    # A copy: promotions into canon write into the show's bible folder.
    folder = tmp_path / "show-bible"
    shutil.copytree(SAMPLE, folder)
    application = build_app(settings, engine=engine, embedder=embedder)
    application.bible.ingest(folder, SHOW)
    yield application
    application.close()


TOBY = "[characters/toby_vell.md > Tobias Vell > Death]"
# What a base model did with the first release's prompt, and more: the prompt echoed, an
# invented quote under a real label (wrong episode), a placeholder citation, and a loop.
FABRICATED = (
    'You are the writers\' room assistant for the show "lantern-line". Writers ask you about '
    "the show's canon and brainstorm with you.\n"
    "Rules:\n"
    "- Base every statement about the show on the canon excerpts in this conversation.\n"
    "[characters/maren_kessler.md > Maren Kessler > How she changes]\n"
    "> After her nephew Toby drowns in episode 6 she sails to the mainland.\n"
    f"Toby drowns at Drowned Quay while trying to dump a crate {TOBY}. His death is ruled an "
    "accident [characters/name.md > Secret].\n"
    "The town calls it an accident and the tide keeps turning. "
    "The town calls it an accident and the tide keeps turning. "
    "The town calls it an accident and the tide keeps turning."
)


def scripted_app(settings: Settings, embedder: MiniLMEmbedder, tmp: Path, *script: str) -> App:
    """The room on a scripted model (answers generated, then verified) and the sample bible."""
    folder = tmp / "scripted-bible"
    shutil.copytree(SAMPLE, folder)
    app = build_app(
        settings.model_copy(update={"answer_mode": "generate"}),
        engine=ScriptedBackend(*script, delay_s=0.01),
        embedder=embedder,
    )
    app.bible.ingest(folder, SHOW)
    return app


@pytest.fixture
def fabricating(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    app = scripted_app(settings, embedder, tmp_path, FABRICATED)
    yield app
    app.close()


@pytest.fixture
def bible_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample bible, for tests that edit or break files."""
    target = tmp_path / "bible"
    shutil.copytree(SAMPLE, target)
    return target


SCRIPT_LIMIT = 64 * 1024  # the upload limit of ``import_room`` (a 'too big' script is cheap)


@pytest.fixture
def import_room(settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path) -> Iterator[App]:
    """The room on a copy of the sample bible, for script imports: real Chroma and
    embeddings; its model is never asked (an import uses none)."""
    folder = tmp_path / "show-bible"
    shutil.copytree(SAMPLE, folder)
    app = build_app(
        settings.model_copy(update={"max_upload_bytes": SCRIPT_LIMIT}),
        engine=ScriptedBackend("unused"),
        embedder=embedder,
    )
    app.bible.ingest(folder, SHOW)
    yield app
    app.close()


def bible_folder(app: App) -> Path:
    """The folder the show's bible was ingested from (where imports and promotions write)."""
    found = app.bible.source_dir(SHOW)
    assert found is not None
    return found


def message(
    text: str,
    *,
    channel: str = "writers",
    thread: str = "t1",
    author: str = "dana",
    mentions_bot: bool = True,
    show: str = SHOW,
) -> Message:
    """A message in the terminal room (where 'ana' is the canon editor, see settings)."""
    return Message(
        platform="terminal",
        workspace="local",
        channel=channel,
        thread=thread,
        author=author,
        author_id=author,
        text=text,
        mentions_bot=mentions_bot,
        show=show,
    )


async def command(app: App, said: Message, name: str, args: dict[str, object]) -> Reply:
    """A command with typed arguments (as Slack and Discord give them), from the same
    writer and thread as ``said``."""
    event = Command(
        **said.model_dump(exclude={"text", "mentions_bot", "in_bot_thread"}), name=name, args=args
    )
    return await final_reply(app.room.handle(event))


async def ask(app: App, msg: Message) -> tuple[Reply, list[str]]:
    """Run one message through the room; returns the final reply and the streamed pieces."""
    pieces: list[str] = []
    final: Reply | None = None
    async for event in app.room.handle(msg):
        if isinstance(event, Final):
            final = event.reply
        elif isinstance(event, Delta):
            pieces.append(event.text)
    assert final is not None
    return final, pieces


INSTRUCTION_BITS = ("You are", "Rules:", "Base every statement", "assistant", "asks:")
LABEL = re.compile(r"\[[^\[\]]+\.md > [^\[\]]+\]")


def assert_clean(reply: Reply, cited: set[str], prompt_bits: Sequence[str] = ()) -> None:
    """What a writing-desk reply must not hold: its prompt's own words (the shared ones and
    ``prompt_bits``, that command's), citation labels it was not given, or a ping."""
    for bit in (*INSTRUCTION_BITS, "Answer in JSON", *prompt_bits):
        assert bit not in reply.text, bit
    assert set(LABEL.findall(reply.text)) <= cited
    assert "<!" not in reply.text and "@everyone" not in reply.text


def history_turns(app: App, thread: str) -> int:
    """How many turns the terminal thread of ``message`` holds (bad input must add none)."""
    return len(app.room.services.history.turns(message("", thread=thread).key, SHOW))


class NoEmbedder:
    """For rooms that never read a bible: an embedding asked for anyway is all zeros."""

    def embed(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        return np.zeros((len(texts), 384), dtype=np.float32)


def modelless_app(tmp_path: Path, **overrides: object) -> App:
    """A room with no model and no bible, for tests of routing, files and rendering."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        default_show="",
        **overrides,  # type: ignore[arg-type]
    )
    return build_app(settings, engine=ScriptedBackend("unused"), embedder=NoEmbedder())


def consoles(width: int = 200) -> tuple[Console, io.StringIO, Console, io.StringIO]:
    """Terminal output and errors, captured (no colour, no highlighting, no wrapping)."""
    out, err = io.StringIO(), io.StringIO()
    return (
        Console(file=out, width=width, soft_wrap=True, highlight=False),
        out,
        Console(file=err, width=width, soft_wrap=True, highlight=False),
        err,
    )


def assert_trustworthy(answer: Answer) -> None:
    """What must be absent from an answer: instruction text, citations to sections that were
    not retrieved for it, and quotes that are not word for word in the bible."""
    for bit in INSTRUCTION_BITS:
        assert bit not in answer.text, bit
    assert "characters/name.md" not in answer.text
    labels = {c.label for c in answer.retrieved}
    assert all(c.label in labels for c in answer.citations)
    assert all(label in labels for label in re.findall(r"\[[^\[\]]+\.md > [^\[\]]+\]", answer.text))
    bible = norm(" ".join(p.read_text() for p in SAMPLE.rglob("*.md")))
    for quoted in re.findall(r"“([^”]+)”", answer.text):
        assert norm(quoted) in bible, quoted


def assert_beat_sheet(app: App, reply: Reply) -> BeatSheet:
    """A beat sheet in the asked structure whose characters are all the bible's."""
    assert reply.kind == "beats", reply.text
    sheet = BeatSheet.model_validate(reply.data)
    assert tuple(b.name for b in sheet.beats) == STRUCTURES["tv-four-act"]
    names = {e.name for e in app.bible.entities(SHOW, "character")}
    assert all(set(b.characters) <= names for b in sheet.beats)
    assert all(b.story_line in ("A", "B", "C") for b in sheet.beats)
    return sheet


def assert_generated_answer(reply: Reply, pieces: list[str]) -> Answer:
    """A streamed answer about Silas Quill that the model wrote (or the bible's own words
    where nothing it wrote survived the checks), with nothing it must not hold."""
    answer = Answer.model_validate(reply.data)
    assert answer.mode in ("generate", "floor") and pieces
    assert_trustworthy(answer)
    assert "Question:" not in reply.text and "Notes from the series bible" not in reply.text
    if answer.mode == "floor":
        assert "Lamplighter" in reply.text or "chapel" in reply.text
    return answer


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def ingest_other_show(app: App, tmp_path: Path, show: str = "dust-bowl") -> None:
    """A second show whose only character also answers to 'Maren', to test isolation."""
    other = tmp_path / "other"
    (other / "characters").mkdir(parents=True)
    (other / "characters/zed.md").write_text(
        "---\ntype: character\nname: Zed Quint\naliases: [Maren]\n---\n# Zed Quint\n"
        "## Who\nA crop-duster pilot who also answers to Maren.\n"
    )
    app.bible.ingest(other, show)


# ---- a Chroma server on loopback (server mode, and processes sharing one store) ----------
@contextmanager
def chroma_on_loopback(path: Path) -> Iterator[int]:
    """A `chroma run` storing into ``path`` on a free loopback port, for the block; its port."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("the chroma command is not installed next to this Python")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the Chroma server did not start within 30 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """One real llama-server (4 parallel slots, an API key) for the session's served tests."""
    server = start_llama_server(model_path, tmp_path_factory.mktemp("llama") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    with chroma_on_loopback(tmp_path / "server") as port:
        yield port
