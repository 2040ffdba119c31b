"""Prompt files render with exactly their variables; settings never leak secrets."""

from importlib import resources

import pytest

from agents.prompts import PromptError, Prompts, variables
from bot.settings import Settings

EXPECTED = {
    "answer_system": {"show"},
    "answer_completion": {"show", "notes", "history", "question"},
    "answer_note": {"label", "text"},
    "answer_exchange": {"question", "answer"},
    "canon_block": {"excerpts"},
    "writer_turn": {"canon", "author", "text"},
    "room_chatter": {"author", "text"},
    "logline": {"n", "show", "canon", "premise"},
    "beats": {"structure_label", "show", "characters", "canon", "premise"},
    "character_card": {"name", "show", "canon"},
    "continuity_verdict": {"show", "as_of", "canon", "claim"},
    "brainstorm_open": {"show", "topic", "n", "canon"},
    "brainstorm_system": {"show", "topic"},
    "brainstorm_riff": {"canon", "transcript", "build_on", "author", "ask"},
    "room_line": {"author", "tag", "text"},
    "wrap_summary": {"show", "topic", "transcript"},
    "provocation_from_canon": {"sentence"},
    "riff_credit": {"credit", "text"},
    "riff_nothing": set(),
    "wrap_fallback": {"topic", "messages", "writers", "pitches"},
    "model_check": set(),
    "scene": {"show", "premise", "voices", "places", "canon"},
    "shots": {"show", "scenes_note", "cast", "scene"},
    "look": {"name", "show", "role", "canon", "fields"},
    "synopsis": {"show", "length", "canon", "material"},
    "synopsis_entry": {"kind", "name"},
    "synopsis_thread": {"topic", "pitches", "notes"},
    "synopsis_text": {"text"},
    "arc": {"show", "cast", "beats", "characters_note"},
    "translate": {"show", "language", "glossary", "lines"},
}


def test_every_prompt_file_is_known_and_renders() -> None:
    files = {p.name[:-4] for p in resources.files("prompts").iterdir() if p.name.endswith(".txt")}
    assert files == set(EXPECTED)
    prompts = Prompts()
    for name, wanted in EXPECTED.items():
        text = resources.files("prompts").joinpath(f"{name}.txt").read_text()
        assert variables(text) == wanted
        assert prompts.render(name, **dict.fromkeys(wanted, "X")).strip()


def test_missing_or_extra_variables_fail_loudly() -> None:
    with pytest.raises(PromptError, match="missing"):
        Prompts().render("answer_system")
    with pytest.raises(PromptError, match="unexpected"):
        Prompts().render("answer_system", show="x", extra="y")


def test_settings_read_env_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WR_N_CTX", "2048")
    monkeypatch.setenv("WR_SLACK_BOT_TOKEN", "xoxb-secret-value")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.n_ctx == 2048
    assert "xoxb-secret-value" not in repr(settings) and "xoxb-secret-value" not in str(settings)


def test_no_prompt_holds_an_example_citation_a_model_could_copy() -> None:
    """The first release's `[characters/name.md > Heading]` example came back as a citation.
    (Structured prompts name S1, S2 labels, but their grammar admits only the real ones.)"""
    for path in resources.files("prompts").iterdir():
        if path.name.endswith(".txt"):
            text = path.read_text(encoding="utf-8")
            assert ".md" not in text, path
