"""The command table and its parsing: pure, no model."""

import pytest

from agents.budget import fit_budget
from agents.commands import commands, get_command, help_text, parse_command, validate_args
from agents.errors import BadRequest, ContextOverflow


def test_logline_takes_optional_count() -> None:
    spec, args = parse_command("/logline A ferry captain hides a crate 4")
    assert spec.name == "logline"
    assert args == {"premise": "A ferry captain hides a crate", "n": 4}
    assert parse_command("/logline A ferry captain")[1]["n"] == 3


def test_beats_takes_structure_choice() -> None:
    _, args = parse_command("/beats Toby's wake goes wrong tv-five-act")
    assert args == {"premise": "Toby's wake goes wrong", "structure": "tv-five-act"}
    assert parse_command("/beats Toby's wake")[1]["structure"] == "save-the-cat"


def test_bible_search_and_help() -> None:
    assert parse_command("/bible search the fog bell")[1] == {
        "action": "search",
        "query": "the fog bell",
    }
    assert parse_command("/help beats")[1] == {"command": "beats"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("/logline", "needs PREMISE"),
        ("/logline   ", "needs PREMISE"),
        ("/logline a premise 11", "between 1 and 10"),
        ("/teleport now", "no command 'teleport'"),
        ("/bible find x", "needs ACTION"),
        ("/character", "needs NAME"),
        ("/", "empty"),
    ],
)
def test_bad_commands_get_clear_messages(text: str, needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        parse_command(text)


def test_typed_options_are_validated_like_text() -> None:
    spec = get_command("beats")
    with pytest.raises(BadRequest, match="structure must be one of"):
        validate_args(spec, {"premise": "x", "structure": "five-act-opera"})
    assert validate_args(spec, {"premise": "x"})["structure"] == "save-the-cat"


def test_help_lists_every_command() -> None:
    text = help_text()
    for spec in commands():
        assert spec.usage in text
    assert "premise" in help_text("logline")


def test_budget_drops_oldest_history_then_weakest_canon() -> None:
    fit = fit_budget(100, 20, history=[10, 10, 10, 10], canon=[15, 15, 15])
    assert (fit.history_start, fit.canon_count) == (1, 3)  # oldest turns first
    fit = fit_budget(60, 20, history=[10, 10, 10, 10], canon=[15, 15, 15])
    assert (fit.history_start, fit.canon_count) == (2, 1)  # then weakest canon
    fit = fit_budget(40, 20, history=[10, 10, 10, 10], canon=[15, 15, 15])
    assert (fit.history_start, fit.canon_count) == (4, 1)  # then the last turns
    assert fit.tokens <= 40


def test_budget_reports_when_even_the_message_cannot_fit() -> None:
    with pytest.raises(ContextOverflow, match="window holds 50"):
        fit_budget(50, 80, history=[10], canon=[5])


def test_scene_parts_lose_markup_debris_but_keep_words() -> None:
    """A base model leaves JSON and HTML in a scene's fields ('}, {', '<br/>')."""
    from agents.commands.scene import worded

    assert worded("}, {") == "" and worded(",") == "" and worded("<br/>") == ""
    assert worded("She hears me.<br/>Not the bell.") == "She hears me. Not the bell."
    assert worded("Ines (to Maren) — 3 a.m.") == "Ines (to Maren) — 3 a.m."
    assert worded("Zoë: «Non.»") == "Zoë: «Non.»"
