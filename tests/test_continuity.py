"""Continuity and canon as of an episode, on the real model, Chroma and SQLite: the
`continuity` command (text, pitch, beats) and its JSON contract, `episode` hiding reveals
from answers and search, a pitch's warning line in a terminal brainstorm, and what bad
input gets."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from agents.continuity.report import ContinuityReport
from agents.messages import Reply
from agents.schemas import STRUCTURES
from bot.compose import App, refresh_outdated
from bot.settings import Settings
from bot.slack_render import escape
from bot.terminal import TerminalRoom
from memory.embeddings import MiniLMEmbedder
from memory.episodes import Episode
from memory.timeline import visible
from tests.conftest import SHOW, ask, message, run, scripted_app
from tests.discord_fake import CHANNEL, bot_maker, discord_harness, interaction_payload
from tests.slack_fake import room_maker, slack_harness
from tests.test_terminal_and_cli import cli

DEAD = "In episode 6, Toby takes the wheel while Maren goes below to face Quill."
CONSISTENT = "In episode 3, Jun shares her barley tea with Maren in the wheelhouse."
SECRET = "characters/silas_quill.md > Silas Quill > Secret identity"
INSTRUCTIONS = ("Answer in JSON", 'Answer "contradicts" only', "You check a TV writers")


def said(app: App, text: str, thread: str = "t1", author: str = "dana") -> Reply:
    reply, _ = run(ask(app, message(text, thread=thread, author=author)))
    return reply


def report_of(reply: Reply) -> ContinuityReport:
    assert reply.kind == "continuity", reply.text
    assert isinstance(reply.result, ContinuityReport)
    return reply.result


def test_a_dead_character_in_a_later_episode_is_flagged_citing_his_file(app: App) -> None:
    reply = said(app, f"/continuity {DEAD}")
    report = report_of(reply)
    assert len(report.flags) == 1
    flag = report.flags[0]
    assert flag.kind == "timeline" and flag.certain and flag.severity == "high"
    assert [s.file for s in flag.sources] == ["characters/toby_vell.md"]
    assert "died in S1E04" in flag.explanation and "S1E06" in flag.explanation
    assert "[characters/toby_vell.md > Tobias Vell > Death]" in reply.text
    # what must be absent: the prompt, and any citation the check did not make
    assert not any(line in reply.text for line in INSTRUCTIONS)
    labels = {s.label for f in report.flags for s in f.sources}
    assert {c.label for c in reply.citations} == labels


def test_a_consistent_text_gets_no_flag(app: App) -> None:
    report = report_of(said(app, f"/continuity {CONSISTENT}"))
    assert report.flags == []
    assert [c.when for c in report.checked] == ["S1E03"]
    assert report.checked[0].verdict in ("consistent", "not covered")
    assert set(report.checked[0].who) == {"Jun Park", "Maren Kessler"}


def test_the_json_contract_holds(settings: Settings) -> None:
    done = cli(settings, "ask", "--json", "--as-of", "S1E05", f"/continuity {DEAD} {CONSISTENT}")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "continuity" and data["as_of"] == "S1E05"
    assert {"flags", "checked", "as_of"} <= set(data)
    assert [c["claim"] for c in data["checked"]] == [DEAD, CONSISTENT]
    for flag in data["flags"]:
        assert set(flag) == {"claim", "explanation", "severity", "kind", "certain", "sources"}
        assert flag["kind"] in ("timeline", "status", "fact", "rule")
        assert isinstance(flag["certain"], bool) and flag["sources"]
        assert all(set(s) == {"file", "heading"} for s in flag["sources"])
    assert [f["claim"] for f in data["flags"]] == [DEAD]


def test_episode_before_a_reveal_hides_it_from_answers_and_search(app: App) -> None:
    def search(thread: str) -> Reply:
        return said(app, "/bible search who is the Lamplighter, Quill", thread)

    assert SECRET in search("t-open").text  # no episode set: the whole bible
    set_early = said(app, "/episode S1E03", "t-early")
    assert set_early.kind == "episode" and "S1E03" in set_early.text
    early = search("t-early")
    assert early.as_of == "S1E03" and early.text.startswith("**As of S1E03**")
    assert SECRET not in early.text and "Secret identity" not in early.text
    answer = said(app, "Who is the Lamplighter?", "t-early")
    assert answer.as_of == "S1E03" and "As of S1E03" in answer.text
    assert "Quill is the Lamplighter" not in answer.text
    assert SECRET not in {c.label.strip("[]") for c in answer.citations}
    assert SECRET not in {c.label.strip("[]") for c in answer.result.retrieved}  # type: ignore[union-attr]
    # later in the same thread: the reveal is canon again
    said(app, "/episode S1E06", "t-early")
    assert SECRET in search("t-early").text
    # the card says the status as of then, and no later spoilers
    said(app, "/episode S1E02", "t-card")
    card = said(app, "/character Toby", "t-card")
    assert card.data and card.data["status"] == "alive" and card.data["last_episode"] is None


def test_a_thread_that_saw_a_reveal_does_not_replay_it_once_its_episode_is_earlier(
    app: App,
) -> None:
    first = said(app, "Who is the Lamplighter?", "t-leak")
    assert SECRET in {c.label.strip("[]") for c in first.result.retrieved}  # type: ignore[union-attr]
    agent = app.room.services.agent
    follow_up = message("And what does he want?", thread="t-leak")
    assert len(run(agent.gather(follow_up, SHOW)).thread) == 2
    early = run(agent.gather(follow_up, SHOW, Episode(1, 3)))
    assert early.thread == []  # the exchange that quoted the secret is not replayed
    assert all(visible(c, Episode(1, 3)) for c in early.canon)


def test_a_pitch_in_a_terminal_brainstorm_gets_its_warning_line(app: App) -> None:
    def writer(name: str, thread: str) -> TerminalRoom:
        out = Console(file=io.StringIO(), width=200)
        return TerminalRoom(app.room, show=SHOW, writer=name, thread=thread, out=out, err=out)

    async def go() -> None:
        dana = writer("dana", "main")
        opened = await dana.send("/brainstorm the fog bell in the finale", stream=False)
        assert opened.kind == "brainstorm", opened.text
        sam = writer("sam", dana.thread)
        bad = await sam.send("pitch: In the finale Toby sneaks back aboard to help Maren.")
        good = await sam.send("pitch: In the finale Nell rings the fog bell herself.")
        assert bad.kind == good.kind == "pitch"
        lines = bad.text.splitlines()
        assert len(lines) == 2 and lines[1].startswith("Continuity (timeline, certain):")
        assert "[characters/toby_vell.md > Tobias Vell > Death]" in lines[1]
        assert bad.data and bad.data["continuity"] == [lines[1]]
        assert "Continuity" not in good.text and good.data and good.data["continuity"] == []
        # the room can check a pitch by number, and the wrap lists the flagged one
        number = bad.data["number"]
        checked = await sam.send(f"/continuity pitch {number}", stream=False)
        assert checked.data and checked.data["target"] == f"pitch #{number}"
        assert len(checked.data["flags"]) == 1
        wrap = await dana.send("/wrap", stream=False)
        assert wrap.kind == "wrap", wrap.text
        assert wrap.data and len(wrap.data["flagged_pitches"]) == 1
        assert wrap.data["flagged_pitches"][0].startswith(f"#{number} (sam): Continuity")
        assert "Pitches with continuity flags:" in wrap.text

    run(go())


def test_beats_are_checked_and_continuity_beats_reads_the_latest_sheet(app: App) -> None:
    missing = said(app, "/continuity beats", "t-beats")
    assert missing.kind == "error" and "no beat sheet in this thread" in missing.text
    sheet = said(app, "/beats Toby comes back from the dead in episode 6 save the cat", "t-beats")
    assert sheet.kind == "beats", sheet.text
    assert isinstance(sheet.data, dict) and isinstance(sheet.data["continuity"], list)
    # whatever the model wrote, each flag found sits under the sheet, as one line
    assert all(f"- {line}" in sheet.text for line in sheet.data["continuity"])
    assert ("**Continuity:**" in sheet.text) == bool(sheet.data["continuity"])
    checked = said(app, "/continuity beats", "t-beats")
    assert report_of(checked).target == "the latest beat sheet" and report_of(checked).checked


def test_flags_sit_under_a_beat_sheet_that_contradicts_canon(
    settings: Settings, embedder: MiniLMEmbedder, tmp_path: Path
) -> None:
    """Rendering, on a scripted model: which beats the model writes is not under test."""
    names = STRUCTURES["three-act"]
    happens = ["Maren finds a crate.", "In episode 6, Toby takes the wheel."]
    happens += ["Quill is caught."] * (len(names) - len(happens))
    beats = [
        {"name": n, "what_happens": w, "characters": [], "sources": []}
        for n, w in zip(names, happens, strict=True)
    ]
    app = scripted_app(settings, embedder, tmp_path, json.dumps({"beats": beats}))
    try:
        sheet = said(app, "/beats the crate three-act", "t-s")
        assert sheet.kind == "beats", sheet.text
        assert sheet.data and len(sheet.data["continuity"]) == 1
        body, _, footer = sheet.text.partition("**Continuity:**")
        assert "Toby takes the wheel" in body
        assert footer.strip().startswith("- Continuity (timeline, certain): 'Toby'")
        assert "[characters/toby_vell.md > Tobias Vell > Death]" in footer
    finally:
        app.close()


def test_bad_input_gets_a_clear_message_and_changes_nothing(app: App) -> None:
    empty = said(app, "/continuity")
    assert empty.kind == "error" and "needs TEXT" in empty.text
    spaces = said(app, "/continuity ...")
    assert spaces.kind == "error" and "no sentence to check" in spaces.text
    huge = said(app, "/continuity " + "Toby sings. " * 1000)
    assert huge.kind == "error" and "characters" in huge.text
    pitch = said(app, "/continuity pitch 999")
    assert pitch.kind == "error" and "no pitch #999" in pitch.text
    bad_code = said(app, "/episode the one with the fog", "t-bad")
    assert bad_code.kind == "error" and "S1E07" in bad_code.text
    after = said(app, "/episode", "t-bad")  # nothing was set
    assert after.kind == "episode" and after.data and after.data["episode"] is None
    later = said(app, "/episode S1E09", "t-bad")
    assert later.kind == "episode" and "knows episodes up to S1E06" in later.text
    assert later.data and later.data["beyond_bible"] is True
    cleared = said(app, "/episode off", "t-bad")
    assert cleared.data and cleared.data["episode"] is None
    assert not said(app, "/bible search Quill", "t-bad").as_of


def test_continuity_through_slack_wr_and_discord_app_command(app: App) -> None:
    flag_line = "[characters/toby_vell.md > Tobias Vell > Death]"

    async def slack() -> None:
        async with slack_harness(room_maker(app.room, interval=0.2)) as h:
            assert await h.command(f"continuity {DEAD}") == 200
            await h.wait_for(
                lambda: any(
                    "Continuity check" in m["text"] for m in h.fake.named("chat.postMessage")
                )
            )
            posted = next(
                m for m in h.fake.named("chat.postMessage") if "Continuity check" in m["text"]
            )
            assert "dana asked:" in posted["text"] and "*timeline*" in posted["text"]
            assert escape(flag_line) in posted["text"]  # Slack's own escaping of '>'
            assert "<@" not in posted["text"].split("asked:")[1]

    async def discord() -> None:
        async with discord_harness(bot_maker(app.room)) as h:
            h.interaction(
                interaction_payload("continuity", [{"name": "text", "type": 3, "value": DEAD}])
            )
            await h.wait_for(
                lambda: any(
                    "Continuity check" in p.get("content", "")
                    for p in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")
                )
            )
            posted = next(
                p
                for p in h.fake.named("POST", rf"^/channels/{CHANNEL}/messages$")
                if "Continuity check" in p.get("content", "")
            )
            assert "asked for /continuity" in posted["content"]
            assert flag_line in posted["content"] and "died in S1E04" in posted["content"]
            assert posted["allowed_mentions"]["parse"] == []

    run(slack())
    run(discord())


def test_a_secret_name_finds_no_one_before_its_reveal(app: App) -> None:
    said(app, "/episode S1E03", "t-alias")
    early = said(app, "/character the Lamplighter", "t-alias")
    assert early.kind == "character" and "Quill" not in early.text
    answer = said(app, "Who is the Lamplighter?", "t-alias")
    # the room's own notes may name Quill ("suspect Delphine and Ada before Quill"); what
    # must not appear is his entry, found through the secret name, or the revealed sections
    assert "Quill is the Lamplighter" not in answer.text and "Unmasked" not in answer.text
    assert not any("silas_quill" in c.file for c in answer.result.retrieved)  # type: ignore[union-attr]
    quill = said(app, "/character Quill", "t-alias")
    assert quill.data and "the Lamplighter" not in quill.data["aliases"]
    said(app, "/episode S1E06", "t-alias")
    late = said(app, "/character the Lamplighter", "t-alias")
    assert late.data and late.data["name"] == "Silas Quill"


def test_autocomplete_and_episode_scopes(app: App) -> None:
    said(app, "/episode S1E01", "t-auto")
    names = app.room.suggest(message("", thread="t-auto"), "characters", "")
    assert "Maren Kessler" in names and "Jun Park" not in names  # Jun first appears in S1E02
    # a channel's episode applies to its threads, until a thread opts out
    channel = message("/episode S1E03", channel="c-scope", thread="")
    assert said_event(app, channel).data == {
        "episode": "S1E03",
        "scope": "channel",
        "beyond_bible": False,
    }
    inside = message("/bible search Quill", channel="c-scope", thread="t-in")
    assert said_event(app, inside).as_of == "S1E03"
    opt_out = message("/episode off", channel="c-scope", thread="t-in").model_copy(
        update={"in_thread": True}
    )
    assert said_event(app, opt_out).data == {
        "episode": None,
        "scope": "thread",
        "beyond_bible": False,
    }
    assert said_event(app, inside).as_of is None
    other = message("/bible search Quill", channel="c-scope", thread="t-other")
    assert said_event(app, other).as_of == "S1E03"
    # --as-of wins for a session, so setting an episode there is refused and changes nothing
    pinned = message("/episode S1E05", channel="c-scope", thread="t-other").model_copy(
        update={"as_of": "S1E02"}
    )
    refused = said_event(app, pinned)
    assert refused.kind == "error" and "--as-of" in refused.text
    assert said_event(app, other).as_of == "S1E03"


def said_event(app: App, event: object) -> Reply:
    reply, _ = run(ask(app, event))  # type: ignore[arg-type]
    return reply


def test_an_entry_the_bible_reveals_later_is_not_there_before(app: App) -> None:
    folder = app.bible.source_dir(SHOW)
    assert folder is not None
    (folder / "characters" / "edgar_quill.md").write_text(
        "---\ntype: character\nname: Edgar Quill\naliases: [Edgar]\nreveal: S1E06\n"
        "first_episode: 6\n---\n# Edgar Quill\n\n## Who he is\nSilas's twin brother.\n"
    )
    app.bible.ingest(folder, SHOW)
    said(app, "/episode S1E03", "t-edgar")
    assert "Edgar Quill" not in app.room.suggest(message("", thread="t-edgar"), "characters", "")
    card = said(app, "/character Edgar", "t-edgar")
    assert card.kind == "character" and "not in the" in card.text and "twin" not in card.text
    assert "later" not in card.text  # not even that a secret exists
    assert not app.bible.named_in(SHOW, "Edgar is here", Episode(1, 3))
    said(app, "/episode S1E06", "t-edgar")
    assert said(app, "/character Edgar", "t-edgar").data["name"] == "Edgar Quill"  # type: ignore[index]
    # a thread that opted out of its channel's episode can follow it again
    channel = message("/episode S1E02", channel="c-follow", thread="")
    said_event(app, channel)
    inside = message("/episode off", channel="c-follow", thread="t-f").model_copy(
        update={"in_thread": True}
    )
    said_event(app, inside)
    follow = inside.model_copy(update={"text": "/episode channel"})
    back = said_event(app, follow)
    assert back.data == {"episode": "S1E02", "scope": "thread", "beyond_bible": False}


def test_a_store_an_older_version_wrote_is_reingested_from_its_folder(app: App) -> None:
    """Chunks written before episodes existed carry no reveals: as of an episode nothing in
    them would be hidden, so the room loads them again on start (its own folder)."""
    collection = app.bible._collection(SHOW)  # what an older version left behind:
    old = {k: v for k, v in (collection.metadata or {}).items() if k != "index_format"}
    collection.modify(metadata=old)  # no format mark,
    stored = collection.get(include=["metadatas"])
    secret = next(
        (cid, meta)
        for cid, meta in zip(stored["ids"], stored["metadatas"], strict=True)
        if str(meta["heading"]).endswith("Secret identity")
    )
    old_chunk = {**secret[1], "visible_from": None, "content_hash": "old"}  # None drops it
    collection.update(ids=[secret[0]], metadatas=[old_chunk])  # and chunks without reveals
    app.bible._cache.clear()
    said(app, "/episode S1E03", "t-old")
    assert SECRET in said(app, "/bible search who is the Lamplighter, Quill", "t-old").text
    assert app.bible.outdated() == [SHOW]
    refreshed, missing = refresh_outdated(app.bible)
    assert [(r.show, r.updated) for r in refreshed] == [(SHOW, 1)] and missing == []
    assert app.bible.outdated() == []
    assert SECRET not in said(app, "/bible search who is the Lamplighter, Quill", "t-old").text
