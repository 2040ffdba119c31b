"""What the writing-desk commands (scene, shots) share: who a character is on the page (a
cue), whether a request fits the model's window, and a file name for an attachment."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from agents.errors import BadRequest
from agents.services import Services
from memory.bible_parse import Chunk
from memory.episodes import Episode, EpisodeCodeError, parse_episode
from memory.lexical import Entity

SECTION_WORDS = 3  # a section's name is at most this long; more words are a pasted scene
_NAME_LIST = re.compile(r"\s*(?:,|&|\band\b)\s*", re.IGNORECASE)
_PROPER = re.compile(r"^[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,2}$")


_WITH = re.compile(r"(?:^|\s)with\s+(?P<names>[^\n]+?)\s*\.?\s*$", re.IGNORECASE)


def split_with(text: str) -> tuple[str, list[str]]:
    """'PREMISE with Maren, Jun and Nell' -> (PREMISE, names). A trailing 'with ...' (after
    a space or a line break) counts as a cast list only when every item is a proper name,
    so 'Maren argues with the tide' stays a premise."""
    text = text.strip()
    found = _WITH.search(text)
    if not found:
        return text, []
    names = [n.strip() for n in _NAME_LIST.split(found.group("names")) if n.strip()]
    if not names or not all(_PROPER.match(n) for n in names):
        return text, []
    return text[: found.start()].strip(), list(dict.fromkeys(names))


def names_in(text: str) -> list[str]:
    """A comma- or 'and'-separated list of names, as typed in an option."""
    return [n.strip() for n in _NAME_LIST.split(text) if n.strip()]


def render_or(names: Sequence[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def cue_for(entity: Entity, taken: Iterable[str] = ()) -> str:
    """The name a script puts over a character's lines: the first one-word alias that is a
    proper name (MAREN, TOBY, CALDER), else the first word of the name; the full name when
    another cast member already has that cue."""
    words = [a for a in entity.aliases if " " not in a.strip() and a[:1].isupper()]
    cue = (words[0] if words else entity.name.split()[0]).upper()
    return entity.name.upper() if cue in set(taken) else cue


def voice_section(chunks: Sequence[Chunk]) -> Chunk | None:
    """The character's '## Voice' notes, if the bible has them."""
    for chunk in chunks:
        if chunk.heading.split(">")[-1].strip().lower() == "voice":
            return chunk
    return None


@dataclass(frozen=True)
class Cast:
    """Who may speak in a draft: bible characters by cue, and new names the writer gave."""

    cues: dict[str, Entity]  # cue -> the bible's character
    new: list[str]  # names the bible does not know, as the writer typed them
    notes: list[str]  # what the writer should know about the cast (new names)


def resolve_cast(
    services: Services, show: str, named: Sequence[str], premise: str, as_of: Episode | None
) -> Cast:
    """The cast: names the writer gave, and bible characters the premise names; with
    neither, every character the room may use (as of its episode), for the model to pick."""
    bible = services.bible
    found: list[Entity] = []
    new: list[str] = []
    notes: list[str] = []
    for name in named:
        hit = bible.lookup(show, name, "character", as_of)
        if hit is not None and hit[0].type == "character":
            if hit[0] not in found:
                found.append(hit[0])
            continue
        new.append(name)
        near = bible.nearest_names(show, name, "character", as_of=as_of)
        hint = f" (did you mean {render_or(near)}?)" if near else ""
        notes.append(f"{name} is not in the {show} bible: written as a new character{hint}.")
    if not named:  # 'with' chooses the cast; without it, those the premise names
        found = [e for e in bible.named_in(show, premise, as_of) if e.type == "character"]
    if not found and not new:
        found = bible.entities(show, "character", as_of)[:12]
    if not found and not new:
        raise BadRequest(
            f"The {show} bible has no characters yet, so say who is in the scene: "
            "scene PREMISE with NAME, NAME. Nothing was saved."
        )
    cues: dict[str, Entity] = {}
    for entity in found:
        cues[cue_for(entity, cues)] = entity
    return Cast(cues, new, notes)


def check_fits(
    services: Services, prompt: str, max_tokens: int, material: str, what: str, pasted: bool
) -> None:
    """Refuse, before the model runs, a request that cannot fit the window: for the
    writer's own text, say how much of it to cut; for the bible's, say to pick less."""
    window = services.backend.n_ctx
    need = services.backend.count_tokens(prompt) + max_tokens
    if need <= window:
        return
    head = (
        f"{what} is too long for the model: it needs about {need} tokens and the model reads "
        f"{window}."
    )
    words = max(1, len(material.split()))
    material_tokens = max(1, services.backend.count_tokens(material))
    if not pasted or need - window >= material_tokens:
        raise BadRequest(
            f"{head} Ask whoever runs the bot for a model with a larger window "
            "(WR_N_CTX), or pick a shorter scene. Nothing was saved."
        )
    cut = min(words, math.ceil(words * (need - window) / material_tokens) + 1)
    raise BadRequest(
        f"{head} Cut about {cut} of its {words} words, or send it in parts. Nothing was saved."
    )


def file_slug(text: str, fallback: str) -> str:
    """A short, plain file-name part from a title or premise."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    return "-".join(words)[:48].strip("-") or fallback


def _episode_code(text: str, season: int) -> Episode | None:
    try:
        return parse_episode(text, season)
    except EpisodeCodeError:
        return None


def episode_list(
    services: Services, show: str, as_of: Episode | None, empty: str = "none yet"
) -> str:
    """The bible's episodes as a writer names them ('S1E04 Undertow'), for error messages."""
    facts = services.bible.facts(show, as_of)
    named = sorted(
        (first, e.name)
        for e in services.bible.entities(show, "episode", as_of)
        if (first := facts[e.file].first) is not None
    )
    return ", ".join(f"{ep.code} {name}" for ep, name in named) or empty


def find_episode(
    services: Services, show: str, words: Sequence[str], as_of: Episode | None
) -> tuple[Entity, list[Chunk], int] | None:
    """The episode the first words name, by code ('S1E04', '104', 'episode 4') or title
    ('Undertow'), its sections as of the room's episode, and how many words named it.

    None when the words name no episode the room may see and go on (a pasted scene may
    start with a scene number); a code, alone or with a section's name, that the bible
    lacks or that comes after the room's episode is refused. Titles are looked up as of
    the room's episode, and a refusal names only the code, so a later episode's title never
    reaches a room breaking an earlier one."""
    bible = services.bible
    latest = bible.latest_episode(show)
    season = latest.season if latest else 1
    for n in (3, 2, 1):
        if len(words) < n:
            continue
        # a code with at most a section's name after it is meant as an episode
        said, alone = " ".join(words[:n]), len(words) - n <= SECTION_WORDS
        code = _episode_code(said, season)
        if code is not None:
            if as_of is not None and code > as_of:
                if not alone:
                    return None
                raise BadRequest(
                    f"{code.code} comes after {as_of.code}, the episode this room is breaking, "
                    "so its canon is hidden here. Nothing was saved."
                )
            facts = bible.facts(show, as_of)
            found = next(
                (e for e in bible.entities(show, "episode", as_of) if facts[e.file].first == code),
                None,
            )
            if found is None:
                if not alone:
                    return None
                raise BadRequest(
                    f"The {show} bible has no episode {code.code}. Its episodes: "
                    f"{episode_list(services, show, as_of)}. Nothing was saved."
                )
        else:
            hit = bible.lookup(show, said, "episode", as_of)
            if hit is None or hit[0].type != "episode":
                continue
            found = hit[0]
        return found, bible.sections(show, as_of).get(found.file, []), n
    return None
