"""Continuity checking on the sample show: precision and recall by kind, time per check.

The cases (bench/continuity_cases.yaml) were written blind, before the checker was tuned:
half planted contradictions (a dead or absent character, a first appearance too early, a
status or a stated fact negated, a world rule broken), half consistent near-misses that
name the same people and places. A planted case counts as found when a flag cites the file
the case names; any flag on a near-miss is a false flag.

Targets: the deterministic (certain) flags, precision and recall 1.0 on the timeline and
status cases; overall precision >= 0.8 with the bundled model. Recall on the model-judged
kinds (fact, rule) is reported; reaching 0.9 there needs a GPU-class instruct model: set
WR_MODEL_PATH (and WR_CHAT_FORMAT if the GGUF has no template) and run again.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.continuity.report import ContinuityReport
from agents.continuity.run import quick_flags
from agents.messages import Final, Reply
from bench.common import cases_from, ingest_sample, message, model_runs
from bot.compose import build_app
from bot.settings import Settings
from memory.episodes import parse_episode

CASES = Path(__file__).with_name("continuity_cases.yaml")
SHOW = "lantern-line"
KINDS = ("timeline", "status", "fact", "rule")
DETERMINISTIC_KINDS = ("timeline", "status")


@dataclass
class Figures:
    label: str
    found: Counter[str] = field(default_factory=Counter)  # planted cases found, by kind
    planted: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)  # flags by their own kind
    right: Counter[str] = field(default_factory=Counter)  # of those, on a planted case's file
    certain_flagged: int = 0
    certain_right: int = 0
    cases_flagged: int = 0
    cases_right: int = 0
    errors: int = 0
    unbacked: int = 0  # model verdicts of 'contradicts' that the evidence gate dropped
    times: list[float] = field(default_factory=list)
    quick: list[float] = field(default_factory=list)  # the deterministic check alone

    def score(self, case: dict[str, Any], report: ContinuityReport | None) -> bool:
        planted, kind = case["expect"] == "flag", case["kind"]
        self.planted[kind] += planted
        flags = report.flags if report else []
        good = [f for f in flags if planted and any(s.file == case["source"] for s in f.sources)]
        for f in flags:
            self.flagged[f.kind] += 1
            self.right[f.kind] += f in good
            self.certain_flagged += f.certain
            self.certain_right += f.certain and f in good
        self.found[kind] += bool(good)
        self.cases_flagged += bool(flags)
        self.cases_right += bool(good)
        return bool(good) == planted and (planted or not flags)

    def show(self) -> None:
        def ratio(a: float, b: float) -> str:
            return f"{a / b:.2f}" if b else "  - "

        print(f"\n{self.label}")
        print("  kind       recall (found/planted)   precision (right/flags)")
        for kind in KINDS:
            print(
                f"  {kind:9}  {ratio(self.found[kind], self.planted[kind])}"
                f" ({self.found[kind]}/{self.planted[kind]})"
                f"{'':13}{ratio(self.right[kind], self.flagged[kind])}"
                f" ({self.right[kind]}/{self.flagged[kind]})"
            )
        det_planted = sum(self.planted[k] for k in DETERMINISTIC_KINDS)
        det_found = sum(self.found[k] for k in DETERMINISTIC_KINDS)
        print(
            f"  deterministic: recall {ratio(det_found, det_planted)} on timeline+status cases,"
            f" precision {ratio(self.certain_right, self.certain_flagged)} of certain flags"
            "  (target 1.0 / 1.0)"
        )
        planted = sum(self.planted.values())
        print(
            f"  overall: precision {ratio(self.cases_right, self.cases_flagged)}"
            f" ({self.cases_right}/{self.cases_flagged} flagged cases)  (target >= 0.8),"
            f" recall {ratio(sum(self.found.values()), planted)}"
        )
        median = statistics.median(self.times) if self.times else 0.0
        quick = statistics.median(self.quick) * 1000 if self.quick else 0.0
        print(
            f"  model 'contradicts' dropped for want of evidence: {self.unbacked};"
            f" errors {self.errors}; median time per check {median:.2f} s"
            f" (the certain checks alone, as on a pitch's arrival: {quick:.1f} ms)"
        )


async def run_model(
    label: str, settings: Settings, cases: list[dict[str, Any]], verbose: bool
) -> Figures:
    app = build_app(settings)
    figures = Figures(label)
    try:
        ingest_sample(app, SHOW)
        for i, case in enumerate(cases):
            event = message(f"/continuity {case['text']}", f"c{i}", SHOW)
            event = event.model_copy(update={"as_of": case["as_of"]})
            reply = Reply.error("no reply")
            start = time.monotonic()
            async for update in app.room.handle(event):
                if isinstance(update, Final):
                    reply = update.reply
            figures.times.append(time.monotonic() - start)
            as_of = parse_episode(case["as_of"]) if case["as_of"] else None
            start = time.monotonic()
            quick_flags(app.bible, SHOW, case["text"], as_of)
            figures.quick.append(time.monotonic() - start)
            report = reply.result if isinstance(reply.result, ContinuityReport) else None
            figures.errors += report is None
            figures.unbacked += report.unbacked if report else 0
            ok = figures.score(case, report)
            if verbose and not ok:
                print(f"--- {case['id']} (expect {case['expect']} {case['kind']})")
                print(reply.text[:600])
    finally:
        app.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    cases, verbose = cases_from(argv, __doc__, CASES, "cases", "print the misses")
    print(
        f"{len(cases)} cases: {sum(c['expect'] == 'flag' for c in cases)} planted, "
        f"{sum(c['expect'] == 'clean' for c in cases)} near-misses"
    )
    for label, settings in model_runs():
        asyncio.run(run_model(label, settings, cases, verbose)).show()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
