"""The verifier's rules on hand-written model output (no model): what must go, what stays."""

from __future__ import annotations

from agents.text import norm
from agents.verify import cut_loop, verify
from memory.bible_parse import Chunk

DEATH = Chunk(
    "c1",
    "characters/toby_vell.md",
    "Tobias Vell > Death",
    'Toby drowns in episode 4, "Undertow", after going overboard at Drowned Quay while\n'
    "trying to dump a crate. His death is ruled an accident; Maren knows better.",
    {"name": "Tobias Vell", "last_episode": 4},
)
CHANGES = Chunk(
    "c2",
    "characters/maren_kessler.md",
    "Maren Kessler > How she changes",
    "After her nephew Toby drowns\nin episode 4 she blames herself, hands the wheel to "
    "Delphine for one crossing.",
    {"name": "Maren Kessler", "first_episode": 1},
)
INSTRUCTIONS = (
    'You are the writers\' room assistant for the show "lantern-line". Writers ask you about '
    "the show's canon and brainstorm with you.\nRules:\n- Base every statement about the show "
    "on the canon excerpts in this conversation.\n- Be brief and concrete: a few sentences."
)
TOBY = "[characters/toby_vell.md > Tobias Vell > Death]"
MAREN = "[characters/maren_kessler.md > Maren Kessler > How she changes]"


def check(text: str, said: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return verify(text, [DEATH, CHANGES], INSTRUCTIONS, said)


def test_a_verbatim_quote_with_its_citation_stays() -> None:
    out = check(f"{TOBY}\n> Toby drowns in episode 4, “Undertow”, after going overboard")
    assert "> Toby drowns in episode 4" in out.text and TOBY in out.text
    assert out.removed == []
    assert [c.file for c in out.citations] == ["characters/toby_vell.md"]


def test_an_invented_quote_under_a_real_label_is_removed() -> None:
    out = check(f"{MAREN}\n> After her nephew Toby drowns in episode 6 she sails away.")
    assert "episode 6" not in out.text and "sails away" not in out.text
    assert any("quote not in the bible" in r for r in out.removed)


def test_a_quote_must_be_in_the_section_it_cites_not_just_anywhere() -> None:
    # Real words, but from Toby's section, cited to Maren's.
    out = check(f"The bible says “ruled an accident; Maren knows better” {MAREN}.")
    assert "ruled an accident" not in out.text


def test_an_inline_quote_without_a_label_is_kept_and_cited_when_it_is_verbatim() -> None:
    out = check("He dies when “going overboard at Drowned Quay” in the fourth episode.")
    assert TOBY in out.text and out.citations[0].file == "characters/toby_vell.md"


def test_the_writers_own_words_may_be_quoted() -> None:
    out = check(
        "You asked “who blames themselves for it” and the answer is Maren.",
        said=("what happened to Toby, and who blames themselves for it?",),
    )
    assert "who blames themselves for it" in out.text and out.citations == []


def test_a_citation_to_a_section_not_retrieved_is_removed_and_the_sentence_kept() -> None:
    out = check(f"Maren blames herself {MAREN} [characters/name.md > Heading].")
    assert "characters/name.md" not in out.text
    assert MAREN in out.text and "Maren blames herself" in out.text
    assert any("not retrieved" in r for r in out.removed)


def test_a_label_with_an_invented_heading_is_not_retrieved() -> None:
    out = check("[characters/maren_kessler.md > … > How she changes]\n> She is a great sailor.")
    assert out.text == "" and out.thin


def test_echoed_instructions_are_cut() -> None:
    echo = (
        "You are the writers' room assistant for the show lantern-line. Rules:\n"
        "- Base every statement about the show on the canon excerpts in this conversation.\n"
        f"Toby drowns at Drowned Quay in episode 4 {TOBY}."
    )
    out = check(echo)
    assert "assistant" not in out.text and "Rules" not in out.text
    assert "Base every statement" not in out.text
    assert out.text == f"Toby drowns at Drowned Quay in episode 4. {TOBY}"


def test_a_line_in_the_prompts_turn_format_is_cut() -> None:
    out = check(f"Toby drowned {TOBY}.\ndana asks: what else happened at the quay?")
    assert "asks" not in out.text and "Toby drowned" in out.text


def test_a_loop_is_cut_at_the_last_sentence_before_it() -> None:
    text = "Toby drowns at the quay. " + "Maren blames herself and the sea takes him. " * 4
    cut, looped = cut_loop(text)
    assert looped and cut.count("Maren blames herself") == 1
    assert check(text).text.count("Maren blames herself") == 1


def test_citations_repeated_are_not_a_loop() -> None:
    text = f"Toby drowns {TOBY}. His death is ruled an accident {TOBY}. Maren knows {TOBY}."
    assert cut_loop(text) == (text, False)


def test_a_number_the_cited_section_does_not_state_takes_the_sentence() -> None:
    out = check(f"Toby drowns in episode 6 {TOBY}. Maren blames herself {MAREN}.")
    assert "episode 6" not in out.text and "Maren blames herself" in out.text


def test_a_sources_line_is_dropped_to_be_rebuilt_from_what_survives() -> None:
    out = check(f"Toby drowns at Drowned Quay.\n\nSources: {TOBY} [characters/name.md > X]")
    assert "Sources" not in out.text and "name.md" not in out.text


def test_normalisation_ignores_quotes_dashes_and_line_breaks() -> None:
    assert norm("“Undertow” — after\ngoing   overboard") == norm(
        '"Undertow", after going overboard'
    )


def test_grounded_answers_drop_claims_the_canon_does_not_bear_out() -> None:
    text = (
        "Toby drowns at Drowned Quay trying to dump a crate. "
        "He has a secret girlfriend in Glasgow who runs a bakery. "
        "Suggestion: the girlfriend could visit the wake."
    )
    out = verify(text, [DEATH, CHANGES], INSTRUCTIONS, ("what happened to Toby?",), grounded=True)
    assert "Toby drowns at Drowned Quay" in out.text
    assert "Glasgow" not in out.text and "bakery" not in out.text
    assert "Suggestion: the girlfriend could visit the wake." in out.text  # offered as an idea
    assert any("claim not in the retrieved canon" in r for r in out.removed)
    # Riffs and provocations are ideas by nature: not grounded, so the claim stays there.
    assert "Glasgow" in verify(text, [DEATH], INSTRUCTIONS).text


def test_an_invented_quote_over_several_sentences_is_removed() -> None:
    out = check('"We are in a time of need. We are all the same, and different now."\nToby drowns.')
    assert "time of need" not in out.text and "Toby drowns." in out.text
