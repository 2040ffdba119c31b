"""Running a continuity check.

``quick_flags`` runs the deterministic checks only (a pitch on arrival, a fresh beat sheet);
``check_text`` adds, for each claim not already flagged, the nearest canon and the model's
verdict under a grammar. See ``checks`` and ``verdicts`` for what makes a flag.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from agents.continuity.checks import check_claim, numbers_contradicted, stated_measures
from agents.continuity.claims import Claim, extract_claims
from agents.continuity.report import CheckedClaim, ContinuityReport, Flag, Verdict
from agents.continuity.verdicts import flag_from, judge
from agents.errors import StructuredOutputError
from agents.services import Services
from memory.bible import BibleStore
from memory.bible_parse import Chunk
from memory.episodes import Episode

log = logging.getLogger(__name__)
MAX_CLAIMS = 20  # a scene's or a beat sheet's worth; the model is asked once per claim
NEAREST = 3  # canon excerpts shown to the model per claim
NEAR = 8  # sections searched per claim, from which the nearest (and a rule) are shown


def deterministic(claim: Claim, sections: Mapping[str, Sequence[Chunk]]) -> list[Flag]:
    """The certain checks, then counts and durations against what the entries the claim
    names state ("the Lantern ... two hundred passengers"): a number is compared only with
    the same thing's, never with any section that shares a word."""
    flags = check_claim(claim, sections)
    if not flags:
        named = {m.facts.file for m in (*claim.who, *claim.where)}
        stated = stated_measures(c for f in named for c in sections.get(f, ()))
        number = numbers_contradicted(claim, stated)
        flags = [number] if number else []
    return flags


def with_a_rule(near: Sequence[Chunk], n: int) -> list[Chunk]:
    """The ``n`` nearest sections, one of them the nearest world rule when any is near: a
    rule is broken by pitches that share few words with it ("a noon crossing" and "runs
    only at night"), so it rarely ranks first on its own."""
    top = list(near[:n])
    rules = [c for c in near if c.metadata.get("type") == "rule"]
    if rules and not any(c.metadata.get("type") == "rule" for c in top) and top:
        top[-1] = rules[0]
    return top


def _checked(claim: Claim, verdict: Verdict, flags: Sequence[Flag]) -> CheckedClaim:
    return CheckedClaim(
        claim=claim.text,
        who=[m.facts.name for m in claim.who],
        where=[m.facts.name for m in claim.where],
        when=claim.when.code if claim.when else None,
        verdict=verdict,
        sources=[s for f in flags for s in f.sources],
    )


def quick_flags_each(
    bible: BibleStore, show: str, texts: Sequence[str], as_of: Episode | None
) -> list[list[Flag]]:
    """Deterministic flags only, for each text: no model, no search (fast enough for every
    pitch). The bible's facts and sections are read once for all of them."""
    facts, sections = bible.facts(show, as_of), bible.sections(show, as_of)
    return [
        [
            f
            for claim in extract_claims(text, facts, as_of)[:MAX_CLAIMS]
            for f in deterministic(claim, sections)
        ]
        for text in texts
    ]


def quick_flags(bible: BibleStore, show: str, text: str, as_of: Episode | None) -> list[Flag]:
    return quick_flags_each(bible, show, [text], as_of)[0]


def flag_lines_each(
    bible: BibleStore, show: str, texts: Sequence[str], as_of: Episode | None
) -> list[list[str]]:
    """The quick check as one line per flag, for pitches' acknowledgements, a wrap-up or a
    beat sheet. A failure here never costs the writer the pitch or the sheet: it is logged
    and nothing is flagged."""
    try:
        return [[f.line for f in flags] for flags in quick_flags_each(bible, show, texts, as_of)]
    except Exception:
        log.exception("quick continuity check failed")
        return [[] for _ in texts]


def flag_lines(bible: BibleStore, show: str, text: str, as_of: Episode | None) -> list[str]:
    return flag_lines_each(bible, show, [text], as_of)[0]


async def check_text(
    services: Services, show: str, text: str, as_of: Episode | None, target: str, lane: str
) -> ContinuityReport:
    bible = services.bible
    facts = await asyncio.to_thread(bible.facts, show, as_of)
    sections = await asyncio.to_thread(bible.sections, show, as_of)
    code = as_of.code if as_of else None
    claims = extract_claims(text, facts, as_of)
    report = ContinuityReport(target=target, as_of=code, skipped=max(0, len(claims) - MAX_CLAIMS))
    for claim in claims[:MAX_CLAIMS]:
        flags = deterministic(claim, sections)
        if flags:
            report.flags += flags
            report.checked.append(_checked(claim, "contradicts", flags))
            continue
        hits = await asyncio.to_thread(bible.search, show, claim.text, NEAR, as_of)
        nearest = with_a_rule([h.chunk for h in hits], NEAREST)
        if not nearest:
            report.checked.append(_checked(claim, "not covered", []))
            continue
        try:
            verdict = await judge(services, show, claim, nearest, code, lane)
        except StructuredOutputError:  # one claim the model could not judge is not a failure
            log.info("no verdict for claim: %.80s", claim.text)
            report.checked.append(_checked(claim, "not covered", []))
            continue
        shown = {f"E{i}": c for i, c in enumerate(nearest, start=1)}
        flag = flag_from(claim, verdict, shown)
        if flag is not None:
            report.flags.append(flag)
            report.checked.append(_checked(claim, "contradicts", [flag]))
            continue
        # An unbacked 'contradicts' is dropped: the claim reads as not covered. A verdict's
        # own citations are not shown either: nothing checked them.
        report.unbacked += verdict.verdict == "contradicts"
        said: Verdict = "not covered" if verdict.verdict == "contradicts" else verdict.verdict
        report.checked.append(_checked(claim, said, []))
    return report
