"""What a continuity check returns (the `ask --json "/continuity ..."` contract).

Only contradictions are flags. Every flag cites at least one bible section, and says
whether it is certain (a deterministic check on the bible's dated facts) or needs a
writer's eye (a model's verdict, or a number read from prose).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agents.schemas import Citation

Kind = Literal["timeline", "status", "fact", "rule"]
Severity = Literal["high", "medium", "low"]
Verdict = Literal["contradicts", "consistent", "not covered"]


class Flag(BaseModel):
    claim: str
    explanation: str
    severity: Severity
    kind: Kind
    certain: bool
    sources: list[Citation] = Field(min_length=1)

    @property
    def line(self) -> str:
        """One line for a pitch's acknowledgement or a beat sheet's footer."""
        how = "certain" if self.certain else "check this"
        cites = " ".join(s.label for s in self.sources[:2])
        return f"Continuity ({self.kind}, {how}): {self.explanation} {cites}"


class CheckedClaim(BaseModel):
    claim: str
    who: list[str] = Field(default_factory=list)
    where: list[str] = Field(default_factory=list)
    when: str | None = None
    verdict: Verdict = "not covered"
    sources: list[Citation] = Field(default_factory=list)


class ContinuityReport(BaseModel):
    """``flags`` empty means nothing was found; ``checked`` lists every claim examined."""

    target: str
    flags: list[Flag] = Field(default_factory=list)
    checked: list[CheckedClaim] = Field(default_factory=list)
    as_of: str | None = None
    skipped: int = 0  # sentences past the limit, not checked (the reply says so)
    unbacked: int = 0  # the model's 'contradicts' dropped: its cited canon did not bear it out
