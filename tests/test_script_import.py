"""`bible import` and the canon editors' chat `import`: a script into the bible, and every
bad file refused with the bible left exactly as it was (files and index), twice over.

Real Chroma, the real MiniLM embedder, real SQLite and the Slack and Discord fakes; no
model is used by an import, so the room runs on a scripted backend that is never asked.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import pytest

from agents.commands.import_script import how_to_attach
from agents.llm.scripted import ScriptedBackend
from agents.messages import Inbound
from agents.script_import.apply import ScriptImporter
from agents.script_import.cast import exact
from agents.script_import.folder import read_entries
from bot.compose import App, build_app, open_bible
from bot.settings import Settings
from memory.bible import Embedder
from memory.episodes import Episode
from tests.conftest import SAMPLE, SCRIPT_LIMIT, SHOW, ask, bible_folder, message, run
from tests.discord_fake import BOT, CHANNEL, bot_maker, discord_harness, message_payload
from tests.slack_fake import mention, room_maker, slack_harness
from tests.test_terminal_and_cli import cli

LIMIT = SCRIPT_LIMIT
SMALL = """Title: The Lantern Line “Low Water”
Episode: S2E03
Author: Test Room

EXT. DROWNED QUAY - NIGHT

Fog over black water. Maren coils a rope. Jun watches the tide gauge.

MAREN
It turns in ten minutes.

JUN (O.S.)
(calling)
Eight!

INT. WHEELHOUSE - CONTINUOUS

CALDER (V.O.)
Kessler, pick up.

WREN
Is that the inspector?
"""


def snapshot(app: App) -> tuple[dict[str, str], dict[str, str]]:
    """Every file's bytes (by hash) and every indexed section's content hash."""
    folder = bible_folder(app)
    files = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    collection = app.bible._collection(SHOW)
    got = collection.get(include=["metadatas"])
    index = {i: str(m["content_hash"]) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    return files, index


def importer(app: App) -> ScriptImporter:
    return ScriptImporter(app.bible, read_only=[SAMPLE])


# ---- a script in ---------------------------------------------------------------------------
def test_import_writes_the_episode_stubs_and_appearances(import_room: App) -> None:
    folder = bible_folder(import_room)
    maren_before = (folder / "characters/maren_kessler.md").read_text()
    done = importer(import_room).run(SHOW, "low_water.fountain", SMALL.encode(), LIMIT)
    assert (done.plan.episode.code, done.plan.title, done.plan.scenes) == ("S2E03", "Low Water", 2)
    episode = (folder / "episodes/s2e03-low-water.md").read_text()
    assert "first_episode: S2E03" in episode and "source: imported" in episode
    assert "## Scene 1: EXT. DROWNED QUAY - NIGHT" in episode
    assert "Action: Fog over black water. Maren coils a rope." in episode
    assert "Characters: Maren Kessler, Jun Park" in episode
    assert "- MAREN: “It turns in ten minutes.”" in episode
    assert "Characters: Rhys Calder (V.O.), Wren" in episode  # heard on the phone only
    # extensions and parentheticals are not names or lines
    for absent in ("(O.S.)", "CALDER (V.O.)", "calling", "JUN (O.S.)"):
        assert absent not in episode, absent
    stub = (folder / "characters/wren.md").read_text()
    for field in ("name: Wren", "status: alive", "first_episode: S2E03", "source: imported"):
        assert field in stub
    assert "lines: 1" in stub
    # the bible's own file: one line added to its front matter, nothing else touched
    maren = (folder / "characters/maren_kessler.md").read_text()
    assert maren.replace("appears_in: [S2E03]\n", "") == maren_before
    assert "characters/maren_kessler.md" in [c.rel for c in done.plan.writes]
    # and it is canon now: the index has the episode's scenes and the new character
    hits = import_room.bible.search(SHOW, "Wren inspector wheelhouse", k=5)
    assert any(h.chunk.file == "episodes/s2e03-low-water.md" for h in hits)
    assert done.ingest.skipped == []


def test_import_again_changes_nothing(import_room: App) -> None:
    importer(import_room).run(SHOW, "low_water.fountain", SMALL.encode(), LIMIT)
    before = snapshot(import_room)
    again = importer(import_room).run(SHOW, "low_water.fountain", SMALL.encode(), LIMIT)
    assert again.plan.writes == []
    assert {c.action for c in again.plan.changes} == {"unchanged"}
    assert (again.ingest.added, again.ingest.updated, again.ingest.removed) == (0, 0, 0)
    assert snapshot(import_room) == before


def test_a_second_episode_adds_to_appears_in_and_keeps_the_stub(import_room: App) -> None:
    importer(import_room).run(SHOW, "low_water.fountain", SMALL.encode(), LIMIT)
    importer(import_room).run(SHOW, "x.fountain", SMALL.encode(), LIMIT, episode="S2E04")
    folder = bible_folder(import_room)
    assert "appears_in: [S2E03, S2E04]" in (folder / "characters/wren.md").read_text()
    assert "appears_in: [S2E03, S2E04]" in (folder / "characters/jun_park.md").read_text()
    assert "first_episode: S2E03" in (folder / "characters/wren.md").read_text()


def test_a_cue_that_could_be_two_characters_is_skipped_not_guessed(import_room: App) -> None:
    script = "INT. GALLEY - DAY\n\nKESSLER\nWho took the last biscuit?\n"
    done = importer(import_room).run(SHOW, "s2e05.fountain", script.encode(), LIMIT)
    assert done.plan.skipped == (
        "KESSLER: could be Maren Kessler or Nell Kessler: add the cue as an alias to the "
        "right one and import again",
    )
    assert not (bible_folder(import_room) / "characters/kessler.md").exists()


def test_a_secret_alias_is_not_matched_before_its_reveal(import_room: App) -> None:
    """'THE LAMPLIGHTER' is Quill's alias from S1E06: matched after, never before."""
    quill = [e for e in read_entries(bible_folder(import_room)) if e.name == "Silas Quill"]
    early = exact("lamplighter", quill, Episode(1, 3))
    assert early == (
        "a name the bible keeps secret at S1E03: left unmatched so this episode does not "
        "reveal it; match it by hand if it should"
    )
    assert exact("lamplighter", quill, Episode(1, 6)) == quill[0]
    script = "INT. CHAPEL - NIGHT\n\nTHE LAMPLIGHTER\nThe lamp stays lit.\n"
    done = importer(import_room).run(
        SHOW, "chapel.fountain", script.encode(), LIMIT, episode="S1E09"
    )
    assert done.plan.skipped == ()
    episode = (bible_folder(import_room) / "episodes/s1e09-chapel.md").read_text()
    assert "Characters: Silas Quill" in episode


# ---- encodings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SMALL.replace("WREN", "RENÉE").encode("utf-16-le"), "UTF-16"),
        (codecs.BOM_UTF16_BE + SMALL.replace("WREN", "RENÉE").encode("utf-16-be"), "UTF-16"),
        (SMALL.replace("WREN", "RENÉE").encode("cp1252"), "Windows-1252"),
    ],
    ids=["utf-16-no-bom", "utf-16-be-bom", "windows-1252"],
)
def test_other_encodings_are_detected_and_said(
    import_room: App, data: bytes, encoding: str
) -> None:
    done = importer(import_room).run(SHOW, "low_water.fountain", data, LIMIT)
    assert done.loaded.encoding == encoding
    stub = (bible_folder(import_room) / "characters/renee.md").read_text(encoding="utf-8")
    assert "name: Renée" in stub


# ---- bad input: a message, and the bible exactly as it was, twice ---------------------------
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<FinalDraft><Content><Paragraph Type="Scene Heading"><Text>&lol2;</Text></Paragraph>
</Content></FinalDraft>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE fd [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&leak;</Text></Paragraph>
</Content></FinalDraft>"""
BAD = [
    ("malformed", "s2e03.fdx", b"<FinalDraft><Content><Paragraph>", None, "not well-formed XML"),
    ("bomb", "s2e03.fdx", BOMB, None, "declares XML entities or a document type"),
    ("external-entity", "s2e03.fdx", EXTERNAL, None, "declares XML entities or a document"),
    (
        "not-final-draft",
        "s2e03.fdx",
        b"<?xml version='1.0'?><html><body/></html>",
        None,
        "not a Final Draft script (its root is <html>)",
    ),
    (
        "prose",
        "s2e03.fountain",
        b"Notes from the room.\n\nMore notes.\n",
        None,
        "not a script",
    ),
    ("pdf", "s2e03.pdf", b"%PDF-1.7\n...", None, "looks like a PDF, not a script"),
    ("word", "s2e03.docx", b"PK\x03\x04rest", None, "looks like a ZIP archive"),
    ("too-big", "s2e03.fountain", SMALL.encode() * 400, None, "scripts are read up to 64 KB"),
    ("empty", "s2e03.fountain", b"  \n\n", None, "is empty"),
    ("binary", "s2e03.fountain", b"INT. A\x00\x01\x02\x03\x04\x05", None, "not text in an"),
    (  # Cyrillic saved as Windows-1251: read as Windows-1252 it would be 'Ìàðèíà'
        "windows-1251",
        "s2e03.fountain",
        "ИНТ. КУХНЯ - НОЧЬ\n\nМАРИНА\nНочь.\n".encode("cp1251"),
        None,
        "not text in an encoding I can read (UTF-8, UTF-16 or Windows-1252)",
    ),
    ("episode-code", "s2e03.fountain", SMALL.encode(), "S2Ex", "'S2Ex' is not an episode code"),
    ("no-episode", "low_water.fountain", b"INT. A - DAY\n\nMAREN\nHi.\n", None, "Say it, like"),
    ("hand-written", "x.fountain", SMALL.encode(), "S1E04", "written by hand (episodes/ep104"),
    ("no-headings", "s2e03.fountain", b"MAREN\nHi.\n", None, "has no scene headings"),
]


@pytest.mark.parametrize(
    ("name", "data", "episode", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_scripts_are_refused_and_the_bible_is_untouched_twice(
    import_room: App, name: str, data: bytes, episode: str | None, says: str
) -> None:
    before = snapshot(import_room)
    for _ in range(2):
        with pytest.raises(Exception) as caught:
            importer(import_room).run(SHOW, name, data, LIMIT, episode)
        said = str(caught.value)
        assert says in said, said
        assert said.endswith("Nothing in the bible changed."), said
        assert "Traceback" not in said and "/etc/passwd" not in said and "root:" not in said
        assert snapshot(import_room) == before


def test_the_read_only_sample_folder_is_refused_twice(settings: Settings, embedder: object) -> None:
    app = build_app(settings, engine=ScriptedBackend("unused"), embedder=embedder)  # type: ignore[arg-type]
    try:
        app.bible.ingest(SAMPLE, "sample-show")
        sample_before = {p: p.read_bytes() for p in sorted(SAMPLE.rglob("*")) if p.is_file()}
        for _ in range(2):
            with pytest.raises(Exception) as caught:
                ScriptImporter(app.bible, [SAMPLE]).run(
                    "sample-show", "low_water.fountain", SMALL.encode(), LIMIT
                )
            assert "bundled sample in the program's own folder" in str(caught.value)
            after = {p: p.read_bytes() for p in sorted(SAMPLE.rglob("*")) if p.is_file()}
            assert after == sample_before
    finally:
        app.close()


def test_a_file_the_ingest_refuses_puts_every_file_back(import_room: App, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """If the re-ingest fails part-way, each written file is restored and re-indexed."""
    before = snapshot(import_room)
    real = import_room.bible.ingest
    calls = []

    def failing(folder, show, progress=None):  # type: ignore[no-untyped-def]
        calls.append(folder)
        if len(calls) == 1:
            raise OSError("disk full")
        return real(folder, show)

    monkeypatch.setattr(import_room.bible, "ingest", failing)
    with pytest.raises(OSError):
        importer(import_room).run(SHOW, "low_water.fountain", SMALL.encode(), LIMIT)
    monkeypatch.undo()
    assert len(calls) == 2 and snapshot(import_room) == before


# ---- in chat: canon editors only ------------------------------------------------------------
def attached(name: str, data: bytes) -> list[Inbound]:
    return [Inbound(name=name, mime="text/plain", size=len(data), data=data)]


def test_terminal_import_by_a_canon_editor_and_refusal_for_anyone_else(import_room: App) -> None:
    before = snapshot(import_room)
    said = message("/import", author="dana").model_copy(
        update={"files": attached("low_water.fountain", SMALL.encode())}
    )
    refused, _ = run(ask(import_room, said))
    assert refused.kind == "error" and "Only the room's canon editors" in refused.text
    assert snapshot(import_room) == before
    audit = import_room.room.services.ledger.promotions.audit_log(SHOW)
    assert [a.action for a in audit] == ["canon.refused"]

    said = said.model_copy(update={"author": "ana", "author_id": "ana"})
    reply, _ = run(ask(import_room, said))
    assert reply.ok, reply.text
    assert reply.text.startswith(
        "Imported low_water.fountain (Fountain, read as UTF-8) into the lantern-line bible as "
        "S2E03 “Low Water”"
    )
    assert "created: episodes/s2e03-low-water.md" in reply.text
    assert "created: characters/wren.md (new character Wren (1 line))" in reply.text
    assert [c.file for c in reply.citations] == ["episodes/s2e03-low-water.md"]
    assert reply.data is not None and reply.data["created"][0] == "episodes/s2e03-low-water.md"
    audit = import_room.room.services.ledger.promotions.audit_log(SHOW)
    assert audit[-1].action == "canon.imported" and audit[-1].actor == "ana"
    for absent in ("<!", "@everyone", "/tmp", str(bible_folder(import_room))):
        assert absent not in reply.text


def test_import_with_no_file_or_two_files_says_what_to_do(import_room: App) -> None:
    before = snapshot(import_room)
    none, _ = run(ask(import_room, message("/import S2E03", author="ana")))
    assert none.text == (
        "Attach the script first with /attach PATH (a .fountain or .fdx file), then /import "
        "(or /import S2E01 to name the episode). Nothing in the bible changed."
    )
    assert how_to_attach("slack", "@room bot") == (
        "Attach the script (.fountain or .fdx) to a message that says `@room bot import` (or "
        "`@room bot import S2E01` to name the episode); a slash command cannot carry a file"
    )
    two = message("/import", author="ana").model_copy(
        update={"files": attached("a.fountain", SMALL.encode()) * 2}
    )
    reply, _ = run(ask(import_room, two))
    assert "import one script at a time" in reply.text
    assert snapshot(import_room) == before


def test_slack_file_share_import_editor_and_refusal(import_room: App) -> None:
    async def go() -> tuple[list[str], list[str]]:
        async with slack_harness(room_maker(import_room.room)) as h:
            shared = h.fake.share("s2e03_low_water.fountain", SMALL.encode())
            event = {**mention("import", "910.1"), "files": [shared]}
            assert await h.event(event, "EvImp1") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 1)
            assert snapshot(import_room) == before  # the refusal wrote nothing
            shared = h.fake.share("s2e03_low_water.fountain", SMALL.encode())
            event = {**mention("import", "911.1"), "user": "UANA", "files": [shared]}
            assert await h.event(event, "EvImp2") == 200
            await h.wait_for(lambda: h.slack.replies_sent >= 2)
            return h.fake.shown_in("910.1"), h.fake.shown_in("911.1")

    before = snapshot(import_room)
    refused, done = run(go())
    assert any("Only the room's canon editors" in s for s in refused), refused
    assert not any("Imported" in s for s in refused)
    assert any("S2E03" in s and "Low Water" in s and "Imported" in s for s in done), done
    assert snapshot(import_room) != before
    assert (bible_folder(import_room) / "episodes/s2e03-low-water.md").exists()


def test_discord_attachment_import_by_a_canon_editor(import_room: App) -> None:
    before = snapshot(import_room)

    async def go() -> list[str]:
        async with discord_harness(bot_maker(import_room.room)) as h:
            script = h.fake.attach("low_water.fountain", SMALL.encode())
            h.message(  # from dana (555), who is not a canon editor
                message_payload(
                    CHANNEL, 555, f"<@{BOT}> import S2E03", mentions=[BOT], attachments=[script]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 1)
            assert snapshot(import_room) == before
            script = h.fake.attach("low_water.fountain", SMALL.encode("utf-16"))
            h.message(
                message_payload(
                    CHANNEL, 4242, f"<@{BOT}> import S2E03", mentions=[BOT], attachments=[script]
                )
            )
            await h.wait_for(lambda: h.bot.replies_sent >= 2)
            return [str(b.get("content")) for _, _, b in h.fake.calls if b.get("content")]

    said = run(go())
    assert any("Only the room's canon editors" in s for s in said), said
    assert any("Imported low_water.fountain" in s and "S2E03" in s for s in said), said
    assert any("read as UTF-16" in s for s in said), said
    assert (bible_folder(import_room) / "characters/wren.md").exists()


# ---- the command line ----------------------------------------------------------------------
def test_cli_bible_import_reports_on_stderr_and_exits_by_outcome(
    settings: Settings, bible_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    script = tmp_path / "s2e03_low_water.fountain"
    script.write_bytes(SMALL.encode())
    store = open_bible(settings, embedder)  # the store the CLI opens, with the test's embedder
    store.ingest(bible_copy, "copy-show")
    store.close()
    done = cli(settings, "bible", "import", str(script), "--show", "copy-show")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the report is for people: stderr, as ingest's is
    assert "into copy-show as S2E03 “Low Water”: 2 scenes" in done.stderr
    assert "created   episodes/s2e03-low-water.md" in done.stderr
    assert "updated   characters/maren_kessler.md" in done.stderr
    assert "Ingested show copy-show" in done.stderr
    assert (bible_copy / "characters/wren.md").exists()

    files = {p: p.read_bytes() for p in sorted(bible_copy.rglob("*")) if p.is_file()}
    bomb = tmp_path / "bomb.fdx"
    bomb.write_bytes(BOMB)
    # (the other refusals are the same code path, tested in process above)
    bad = cli(settings, "bible", "import", str(bomb), "--show", "copy-show")
    assert bad.returncode == 1, bad.stderr
    assert bad.stderr.startswith("error: bomb.fdx cannot be read as Final Draft: it declares")
    assert bad.stderr.rstrip().endswith("Nothing in the bible changed.")
    assert "Traceback" not in bad.stderr
    assert {p: p.read_bytes() for p in sorted(bible_copy.rglob("*")) if p.is_file()} == files
    usage = cli(settings, "bible", "import", str(script))
    assert usage.returncode == 2 and "--show" in usage.stderr
