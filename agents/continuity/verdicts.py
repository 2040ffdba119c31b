"""The model's verdict on one claim against the nearest canon, under a grammar.

The model may say `contradicts`, `consistent` or `not covered`, citing the excerpts (E1,
E2…) it rests on; the grammar admits only labels it was shown. A `contradicts` becomes a flag
only with evidence a reader can see: a cited excerpt about the same things as the claim
(shared words) whose sentence pulls the other way (a negation on one side only, or
opposite words such as night and noon). A verdict without that is dropped, never shown:
a false flag costs a room more than a missed one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from agents.canon import citation, excerpt_block
from agents.continuity.claims import Claim, content_stems, sentences
from agents.continuity.report import Flag, Verdict
from agents.llm.base import StructuredRequest
from agents.services import Services
from memory.bible_parse import Chunk

VERDICTS = ("contradicts", "consistent", "not covered")
VERDICT_TOKENS = 40
SHARED_WORDS = 2  # a cited sentence must share this many content words with the claim
_NEGATION = re.compile(
    r"\b(not|never|no|nothing|none|cannot|can't|cant|isn't|doesn't|won't|without|unable|"
    r"broken|neither|nor)\b",
    re.I,
)
OPPOSITES = (
    ({"day", "daytime", "daylight", "noon", "midday", "morning", "afternoon"}, {"night"}),
    ({"high"}, {"low"}),
    ({"alive", "living"}, {"dead", "died", "drowns", "drowned"}),
    ({"free", "released"}, {"arrested", "custody"}),
    ({"broken", "dark"}, {"works", "working"}),
    ({"ghost", "ghosts", "haunted", "curse", "spirits"}, {"supernatural", "earthly"}),
    ({"niece", "son", "sister", "cousin", "mother", "aunt"}, {"daughter", "nephew"}),
)


class ClaimVerdict(BaseModel):
    """No free-text reason: a flag's explanation is the cited sentence itself, which the
    model cannot misquote."""

    verdict: Verdict
    sources: list[str]


def verdict_schema(labels: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": list(VERDICTS)},
            "sources": {
                "type": "array",
                "items": {"type": "string", "enum": list(labels)},
                "maxItems": 2,
            },
        },
        "required": ["verdict", "sources"],
    }


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _negated_near(text: str, stems: set[str], within: int = 4) -> bool:
    """A negation within a few words of what the two sentences share ("no mobile signal")."""
    words = re.findall(r"[\w']+", text.lower())
    negations = [i for i, w in enumerate(words) if _NEGATION.fullmatch(w)]
    shared = [i for i, w in enumerate(words) if w[:5] in stems or w.rstrip("s")[:5] in stems]
    return any(abs(n - s) <= within for n in negations for s in shared)


def pulls_apart(claim: str, canon: str, shared: set[str]) -> bool:
    """A visible conflict between two sentences: negated on one side only, next to what
    they share, or opposite words on each side."""
    mine_negated, theirs_negated = bool(_NEGATION.search(claim)), bool(_NEGATION.search(canon))
    if mine_negated != theirs_negated:
        negated = claim if mine_negated else canon
        if _negated_near(negated, shared):
            return True
    mine, theirs = _words(claim), _words(canon)

    def only(words: set[str], pole: set[str], other: set[str]) -> bool:
        return bool(words & pole) and not words & other

    return any(
        (only(mine, a, b) and only(theirs, b, a)) or (only(mine, b, a) and only(theirs, a, b))
        for a, b in OPPOSITES
    )


def evidence(claim: Claim, chunk: Chunk) -> str | None:
    """The sentence of a cited section that is about what the claim is about (shared words
    other than the names in it) and pulls against it."""
    names = {s for m in (*claim.who, *claim.where) for s in content_stems(m.said)}
    stems = content_stems(claim.text) - names
    for sentence in sentences(chunk.text):
        shared = stems & content_stems(sentence)
        if len(shared) >= SHARED_WORDS and pulls_apart(claim.text, sentence, shared):
            return sentence
    return None


def flag_from(claim: Claim, verdict: ClaimVerdict, shown: dict[str, Chunk]) -> Flag | None:
    """A model's `contradicts` that its cited canon bears out; None otherwise."""
    if verdict.verdict != "contradicts":
        return None
    cited = [shown[label] for label in verdict.sources if label in shown]
    backed = [(c, s) for c in cited for s in [evidence(claim, c)] if s is not None]
    if not backed:
        return None
    chunk, sentence = backed[0]
    rule = chunk.metadata.get("type") == "rule"
    return Flag(
        claim=claim.text,
        explanation=f"The bible says: “{sentence}”",
        severity="medium",
        kind="rule" if rule else "fact",
        certain=False,
        sources=[citation(c) for c, _ in backed],
    )


async def judge(
    services: Services,
    show: str,
    claim: Claim,
    canon: Sequence[Chunk],
    as_of: str | None,
    lane: str,
) -> ClaimVerdict:
    """One grammar-constrained verdict; greedy, so the same claim gets the same answer."""
    labels = [f"E{i}" for i in range(1, len(canon) + 1)]
    prompt = services.prompts.render(
        "continuity_verdict",
        show=show,
        as_of=f" as of {as_of}" if as_of else "",
        canon=excerpt_block(services.prompts, canon, [f"[{label}]" for label in labels]),
        claim=claim.text,
    )
    return await services.produce(
        StructuredRequest(
            what="continuity verdict",
            messages=({"role": "user", "content": prompt},),
            schema=verdict_schema(labels),
            build=ClaimVerdict.model_validate,
            lane=lane,
            max_tokens=VERDICT_TOKENS,
            temperature=0.0,
        )
    )
