"""Search shows what it promises: a section holding the query's own words ranks first, the
score printed is the one that ordered the hits, and the room and the command line show the
same hits with the same provenance."""

from __future__ import annotations

import json

from bot.compose import App
from bot.settings import Settings
from memory.ledger import Actor
from memory.lexical import phrase_coverage, tokens
from tests.conftest import SHOW, ask, command, message, run
from tests.test_terminal_and_cli import cli

LINE = "Quill hears the fog bell from the oyster sheds"


def promote(app: App, text: str) -> str:
    """A pitch promoted into canon through the room, as an editor would; returns its file."""
    ledger = app.room.services.ledger
    editor = message("x", author="ana")
    bs = ledger.log.open_brainstorm(editor.key, SHOW, "the bell", Actor("ana", "ana"))
    pitch = ledger.log.record(bs, Actor("sam", "sam"), text, pitch=text)
    assert pitch is not None
    added = run(command(app, editor, "canon", {"action": "add", "target": str(pitch.id)}))
    assert added.kind == "canon", added.text
    return str(added.data["file"])  # type: ignore[index]


def test_phrase_coverage_is_word_order_not_just_words() -> None:
    assert phrase_coverage(tokens(LINE), tokens(f"At dusk {LINE.lower()}.")) == 1.0
    assert phrase_coverage(tokens(LINE), tokens("sheds oyster the from bell fog hears Quill")) == 0


def test_a_verbatim_line_ranks_its_section_first_with_the_score_that_ranked_it(
    app: App, settings: Settings
) -> None:
    promoted = promote(app, LINE + ".")
    reply, _ = run(ask(app, message(f"/bible search {LINE}")))
    hits = reply.data["hits"]  # type: ignore[index]
    assert hits[0]["file"] == promoted  # names Quill and the fog bell: others share the names
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert hits[0]["provenance"]["pitched_by"] == "sam"
    assert hits[0]["provenance"]["approved_by"] == "ana"
    assert all(h["provenance"] is None for h in hits[1:])
    first_line = reply.text.splitlines()[1]
    assert first_line.startswith(f"{scores[0]:.2f} [{promoted} > ")
    assert "(pitched by sam, approved by ana, " in first_line

    app.close()  # the command line opens the same store
    shown = cli(settings, "bible", "search", LINE)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == reply.text  # one renderer for both
    rows = json.loads(cli(settings, "bible", "search", LINE, "--json").stdout)
    assert [r["file"] for r in rows] == [h["file"] for h in hits]
    assert rows[0]["provenance"]["pitched_by"] == "sam" and rows[0]["score"] == scores[0]
    assert {"similarity", "score"} <= rows[1].keys()
