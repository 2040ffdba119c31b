from pathlib import Path

import pytest

from memory.bible_parse import BibleFileError, parse_bible_file
from tests.conftest import SAMPLE


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "entry.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_chunks_follow_headings_and_keep_front_matter() -> None:
    chunks = parse_bible_file(SAMPLE / "characters/toby_vell.md", "characters/toby_vell.md")
    headings = [c.heading for c in chunks]
    assert headings == [
        "Tobias Vell > Who he was",
        "Tobias Vell > Secret",
        "Tobias Vell > Death",
        "Tobias Vell > Voice",
    ]
    meta = chunks[2].metadata
    assert meta["status"] == "dead" and meta["last_episode"] == 4
    assert meta["aliases"] == "Toby|Toby Vell|the deckhand"
    assert chunks[2].citation == "[characters/toby_vell.md > Tobias Vell > Death]"


def test_chunk_ids_are_stable_across_parses() -> None:
    rel = "characters/maren_kessler.md"
    first = [c.id for c in parse_bible_file(SAMPLE / rel, rel)]
    again = [c.id for c in parse_bible_file(SAMPLE / rel, rel)]
    assert first == again and len(set(first)) == len(first)


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "---\ntype: character\nname: Ada\naliases: [unclosed\n---\n# Ada\n")
    with pytest.raises(BibleFileError) as err:
        parse_bible_file(path, "entry.md")
    assert err.value.path == "entry.md"
    assert err.value.line is not None and 4 <= err.value.line <= 6
    assert "YAML" in err.value.reason


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("# no front matter\n", "no front matter"),
        ("---\ntype: villain\nname: X\n---\n", "'type' must be one of"),
        ("---\ntype: character\n---\n", "'name' is missing"),
        ("---\ntype: note\nname: X\n", "never closed"),
        ("---\n- a\n- b\n---\n", "key: value"),
    ],
)
def test_invalid_front_matter_is_explained(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(BibleFileError, match=needle):
        parse_bible_file(write(tmp_path, text), "entry.md")


def test_long_sections_split_under_the_embedding_window(tmp_path: Path) -> None:
    paragraphs = "\n\n".join(" ".join(["word"] * 100) for _ in range(4))
    path = write(tmp_path, f"---\ntype: note\nname: Long\n---\n# Long\n\n{paragraphs}\n")
    chunks = parse_bible_file(path, "entry.md")
    assert len(chunks) >= 2
    assert all(len(c.text.split()) <= 200 for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)
