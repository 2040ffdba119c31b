"""Canon on a timeline, without a model: episode codes, reveal tags, dated facts, and the
claims and deterministic checks built on them (against the parsed sample bible)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.continuity.claims import extract_claims, sentences
from agents.continuity.run import deterministic
from agents.continuity.verdicts import ClaimVerdict, flag_from
from memory.bible_parse import BibleFileError, Chunk, parse_bible_file
from memory.episodes import Episode, EpisodeCodeError, episodes_in, parse_episode
from memory.timeline import EntityFacts, facts_of, visible
from tests.conftest import SAMPLE

E = Episode


@pytest.mark.parametrize(
    ("code", "season", "expected"),
    [
        ("S1E5", 1, E(1, 5)),
        ("s01e05", 3, E(1, 5)),
        ("105", 2, E(1, 5)),
        (105, 2, E(1, 5)),
        ("1x05", 1, E(1, 5)),
        ("ep 5", 2, E(2, 5)),
        ("Episode 5", 1, E(1, 5)),
        ("episode 12", 1, E(1, 12)),
        ("1207", 1, E(12, 7)),
        (0, 1, E(1, 0)),
    ],
)
def test_episode_codes_in_every_form_normalise(code: object, season: int, expected: E) -> None:
    assert parse_episode(code, season) == expected
    assert expected.code == f"S{expected.season}E{expected.episode:02d}"


@pytest.mark.parametrize("code", ["S1", "episode five", "", "E5S1", True, None, "1x", "5.5"])
def test_unreadable_codes_say_which_forms_work(code: object) -> None:
    with pytest.raises(EpisodeCodeError, match="S1E07"):
        parse_episode(code)


def test_codes_in_prose_are_found_but_bare_numbers_are_not() -> None:
    found = [e for _, e in episodes_in("In ep 3, then S1E07 and 2x04; 105 passengers", 1)]
    assert found == [E(1, 3), E(1, 7), E(2, 4)]


def _sample() -> tuple[dict[str, EntityFacts], dict[str, list[Chunk]]]:
    facts, sections = {}, {}
    for path in sorted(SAMPLE.rglob("*.md")):
        rel = path.relative_to(SAMPLE).as_posix()
        chunks = parse_bible_file(path, rel)
        sections[rel], facts[rel] = chunks, facts_of(chunks[0].metadata)
    return facts, sections


def test_front_matter_becomes_dated_facts_and_status_as_of_hides_later_turns() -> None:
    facts, _ = _sample()
    toby, ada = facts["characters/toby_vell.md"], facts["characters/ada_okonkwo.md"]
    jun = facts["characters/jun_park.md"]
    assert toby.died == E(1, 4) and toby.first == E(1, 1) and toby.is_dead
    assert ada.since == {"resigned": E(1, 5)}
    assert toby.status_as_of(E(1, 3)) == "alive" and toby.status_as_of(E(1, 5)) == "dead"
    assert ada.status_as_of(E(1, 4)) == "alive" and ada.status_as_of(E(1, 6)) == "resigned"
    assert jun.status_as_of(E(1, 1)) == "not yet introduced"
    assert toby.status_as_of(None) == "dead"


def test_reveal_tags_on_headings_hide_sections_until_their_episode() -> None:
    chunks = parse_bible_file(SAMPLE / "characters/silas_quill.md", "characters/silas_quill.md")
    secret = next(c for c in chunks if c.heading.endswith("Secret identity"))
    face = next(c for c in chunks if c.heading.endswith("Public face"))
    assert "{" not in secret.heading  # the tag is not part of the citation
    assert not visible(secret, E(1, 5)) and visible(secret, E(1, 6)) and visible(secret, None)
    assert visible(face, E(1, 1))
    episode6 = parse_bible_file(
        SAMPLE / "episodes/ep106_high_water_mark.md", "episodes/ep106_high_water_mark.md"
    )
    assert not visible(episode6[0], E(1, 5)) and visible(episode6[0], E(1, 6))


def test_a_code_that_cannot_be_read_is_reported_with_its_line_and_the_file_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.md"
    path.write_text(
        "---\ntype: character\nname: Wren\nfirst_episode: S1E03\ndied_in: the spring\n---\n"
        "# Wren\n\n## Who\nA diver.\n\n## Later {reveal: soon}\nShe lies.\n"
    )
    warnings: list[BibleFileError] = []
    chunks = parse_bible_file(path, "x.md", warnings)
    assert [c.heading for c in chunks] == ["Wren > Who", "Wren > Later"]
    assert [(w.line, w.reason.split(":")[0]) for w in warnings] == [
        (5, "'died_in'"),
        (12, "heading reveal"),
    ]
    assert facts_of(chunks[0].metadata).first == E(1, 3)


def test_sentences_keep_wrapped_lines_and_titles_together() -> None:
    text = "Dr. Park helps\nNell. Then Toby laughs!\n\n- Calder arrives"
    assert sentences(text) == ["Dr. Park helps Nell.", "Then Toby laughs!", "Calder arrives"]


def _flags(text: str, as_of: E | None = None) -> list[str]:
    facts, sections = _sample()
    out = []
    known = {file: f.as_of(as_of) for file, f in facts.items()}
    for claim in extract_claims(text, known, as_of):
        out += [f"{f.kind}:{f.sources[0].file}" for f in deterministic(claim, sections)]
    return out


@pytest.mark.parametrize(
    ("text", "as_of", "expected"),
    [
        ("In episode 6, Toby takes the wheel.", None, ["timeline:characters/toby_vell.md"]),
        ("The deckhand fixes the pump.", E(1, 5), ["timeline:characters/toby_vell.md"]),
        ("Old Ben walks the deck tonight.", None, ["timeline:characters/benedikt_sauer.md"]),
        ("In 1x01 DI Calder asks about cargo.", None, ["timeline:characters/rhys_calder.md"]),
        ("In episode 5 Toby is recovering in hospital.", None, ["status:characters/toby_vell.md"]),
        ("In ep 6 harbour master Okonkwo signs.", None, ["status:characters/ada_okonkwo.md"]),
        ("End of S1E06: Quill walks free.", None, ["status:characters/silas_quill.md"]),
        ("Nell, twelve, sneaks out.", None, ["fact:characters/nell_kessler.md"]),
        ("All two hundred passengers board the Lantern.", None, ["fact:places/the_lantern.md"]),
    ],
)
def test_deterministic_checks_flag_what_the_dated_facts_rule_out(
    text: str, as_of: E | None, expected: list[str]
) -> None:
    assert _flags(text, as_of) == expected


@pytest.mark.parametrize(
    ("text", "as_of"),
    [
        ("In episode 6, a flashback: Toby lays the bet.", None),
        ("Episode 5 opens with Maren at Toby's grave.", None),
        ("In ep 6 Nell reads Old Ben's logbooks.", None),
        ("Early in episode 4 Toby fixes the bilge pump.", None),
        ("Benedikt wrote the fog bell rule.", None),
        ("In episode 6 Ada, no longer harbour master, sits at the back.", None),
        ("In episode 2, harbour master Okonkwo insists on an inspection.", None),
        ("Nell's sixteen and bored.", E(1, 3)),
        ("Ninety passengers and twelve cars is all she takes.", None),
        ("S1E03: Jun shares her tea.", None),
    ],
)
def test_near_misses_and_memories_are_not_flagged(text: str, as_of: E | None) -> None:
    assert _flags(text, as_of) == []


def test_a_place_named_drowned_does_not_make_a_dead_man_a_memory() -> None:
    assert _flags("In episode 6 Toby walks out to Drowned Quay.") == [
        "timeline:characters/toby_vell.md"
    ]


def test_an_episode_in_one_sentence_carries_to_the_next() -> None:
    facts, _ = _sample()
    claims = extract_claims("Episode 6. Toby laughs. Finale: Nell sings.", facts, E(1, 2))
    assert [(c.when, c.when_said) for c in claims] == [
        (E(1, 6), True),
        (E(1, 6), True),
        (E(1, 6), True),
    ]
    assert extract_claims("Toby laughs.", facts, E(1, 2))[0].when == E(1, 2)


@pytest.mark.parametrize(
    "text",
    [
        "In episode 6, the new harbour master Okonkwo's replacement arrives.",
        "In episode 6 the new harbour master arrives on the ferry.",
        "In episode 5 Maren thinks of Benedikt as the tide turns.",
        "Nell is one step ahead of Calder in episode 3.",
        "Two hours later, the crossing is over and Maren sleeps.",
        "In episode 3 two police cars wait at the slipway.",
    ],
)
def test_what_a_room_says_that_is_not_a_contradiction(text: str) -> None:
    assert _flags(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "In episode 6 Quill confesses he killed Toby.",
        "Maren finds a note from Toby in episode 6.",
        "In episode 8, Maren is released from hospital and visits Quill in his cell.",
        "In episode 6 Maren meets the harbour master who replaced Ada.",
        "Toby carries a 2x4 down the slipway.",
        "The crossing takes forty minutes, but the storm adds two hours to the night.",
        "Maren inherits the boat from Old Ben.",
    ],
)
def test_what_reviewers_found_a_room_would_say_without_contradiction(text: str) -> None:
    assert _flags(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In episode 6, Toby, soaked, climbs aboard.", ["timeline:characters/toby_vell.md"]),
        ("In ep. 6, Toby takes the wheel.", ["timeline:characters/toby_vell.md"]),
        ("In episode 6, Toby boarded the ferry.", ["timeline:characters/toby_vell.md"]),
    ],
)
def test_what_reviewers_found_missed_is_flagged(text: str, expected: list[str]) -> None:
    assert _flags(text) == expected


def test_seasons_other_than_one() -> None:
    found = [e for _, e in episodes_in("In season 2 episode 3, then 2x04 and s3e1", 1)]
    assert found == [E(2, 3), E(2, 4), E(3, 1)]
    assert parse_episode("ep 4", season=2) == E(2, 4)


def test_nested_reveals_take_the_latest_and_unreadable_ones_hide(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(
        "---\ntype: character\nname: Wren\nborn_in: 1987\nbased_in: Harrowgate\n"
        'aliases: [Wren, "the Diver {reveal: S1E04}"]\n---\n'
        "## Past {reveal: S1E06}\n\n### Detail {reveal: S1E02}\nA.\n\n"
        "## Typo {reveal: S1E6x}\nB.\n\n## Open\nC.\n"
    )
    warnings: list[BibleFileError] = []
    detail, typo, open_ = parse_bible_file(path, "x.md", warnings)
    assert detail.heading == "Past > Detail"
    assert not visible(detail, E(1, 3)) and visible(detail, E(1, 6))
    assert not visible(typo, E(1, 6)) and not visible(typo, E(9, 99)) and visible(typo, None)
    assert visible(open_, E(1, 1))
    assert [w.line for w in warnings] == [
        13
    ]  # only the typo: born_in and based_in are not episodes
    facts = facts_of(detail.metadata)
    assert facts.secret_aliases == {"the Diver": E(1, 4)} and "the Diver" in facts.aliases
    assert "the Diver" not in facts.as_of(E(1, 3)).aliases
    assert "the Diver" in facts.as_of(E(1, 4)).aliases
    assert "the Diver" not in detail.index_text  # a secret name is never a keyword


def test_facts_as_of_an_episode_hold_nothing_later() -> None:
    facts, _ = _sample()
    toby = facts["characters/toby_vell.md"].as_of(E(1, 3))
    assert toby.died is None and toby.last is None and toby.status == "alive"
    assert toby.first == E(1, 1)
    quill = facts["characters/silas_quill.md"]
    assert "the Lamplighter" in quill.aliases
    assert "the Lamplighter" not in quill.as_of(E(1, 5)).aliases
    assert _flags("In episode 6, Toby takes the wheel.") != []
    assert (
        extract_claims(
            "The Lamplighter signals.", {f: v.as_of(E(1, 3)) for f, v in facts.items()}, E(1, 3)
        )[0].who
        == ()
    )


@pytest.mark.parametrize(
    "text",
    [
        "Episode 6. Old Ben taught her to read the fog, years before.",
        "In episode 6 Maren waits at the Gullstone landing for ten minutes.",
        "In episode 6 there are only three cars on the Lantern tonight.",
        "Episode 5: Ada, the harbour master, signs the papers before she quits.",
        "Episode 6: the harbour master signs the Lantern back in.",
        "In episode 2 Jun crosses the car park in five minutes.",
    ],
)
def test_second_review_near_misses_are_not_flagged(text: str) -> None:
    assert _flags(text) == []


def test_grabbing_something_from_a_dead_man_puts_him_there() -> None:
    assert _flags("In episode 6 Maren grabs the rope from Toby.") == [
        "timeline:characters/toby_vell.md"
    ]


def test_unreadable_dates_hide_what_they_date_and_years_are_not_episodes(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text(
        "---\ntype: character\nname: Wren\nstatus: dead\ndied_in: episode four\n"
        'born_in: 87\nbased_in: "Ward 9"\naliases: [Wren, "the Diver {reveal: S1E04}"]\n---\n'
        "## Who\nA diver.\n"
    )
    warnings: list[BibleFileError] = []
    (chunk,) = parse_bible_file(path, "x.md", warnings)
    assert [w.reason.split(":")[0] for w in warnings] == ["'died_in'"]
    facts = facts_of(chunk.metadata)
    assert facts.as_of(E(1, 9)).status == "alive"  # not told until the date is fixed
    assert "ep_born_in" not in chunk.metadata and "ep_based_in" not in chunk.metadata
    assert chunk.metadata["aliases"] == "Wren"  # the secret name is not in plain metadata
    assert "the Diver" in facts.aliases


def test_a_model_contradiction_needs_a_cited_sentence_that_pulls_the_other_way() -> None:
    facts, sections = _sample()
    rule = sections["rules/dead_zone.md"][0]  # "There is no mobile signal on the water ..."
    ferry = sections["places/the_lantern.md"][0]
    (claim,) = extract_claims(
        "Past the Gullstone bar, Nell phones Jun on her mobile from the water.", facts, None
    )
    said = ClaimVerdict(verdict="contradicts", sources=["E1", "E2"])
    flag = flag_from(claim, said, {"E1": ferry, "E2": rule})
    assert flag is not None and flag.kind == "rule" and not flag.certain
    assert [s.file for s in flag.sources] == ["rules/dead_zone.md"]
    assert "no mobile signal" in flag.explanation
    # the same verdict citing only a section that does not bear it out is dropped
    assert (
        flag_from(claim, ClaimVerdict(verdict="contradicts", sources=["E1"]), {"E1": ferry}) is None
    )
    # and a verdict that is not a contradiction is never a flag
    assert (
        flag_from(claim, ClaimVerdict(verdict="consistent", sources=["E2"]), {"E2": rule}) is None
    )
