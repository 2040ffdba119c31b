"""The ideas ledger as Markdown a showrunner can paste into the room's document."""

from __future__ import annotations

from datetime import UTC, datetime

from memory.ledger import Ledger, Promotion


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped so a writer's text cannot break the table."""
    return " ".join(text.split()).replace("|", "\\|")


def _canon_status(promotions: list[Promotion], kind: str, source_id: int) -> str:
    for p in promotions:
        if p.source_kind == kind and p.source_id == source_id and p.undone_at is None:
            return f"yes ({p.file})"
    return ""


def export_markdown(ledger: Ledger, show: str) -> str:
    brainstorms = ledger.log.brainstorms(show)
    promotions = ledger.promotions.of_show(show)
    pitch_count = 0
    sections: list[str] = []
    for bs in brainstorms:
        pitches = sorted(ledger.pitches.of_brainstorm(bs.id), key=lambda p: (-p.votes, p.id))
        pitch_count += len(pitches)
        lines = [f"## {_cell(bs.topic)}", ""]
        where = f" in {bs.link}" if bs.link else ""
        lines += [f"Opened by {bs.opened_by} on {_day(bs.opened_at)}{where}.", ""]
        if pitches:
            lines += [
                "| # | Pitch | By | Votes | Voters | In the bible |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {p.id} | {_cell(p.text)} | {_cell(p.author)} | {p.votes} | "
                f"{_cell(', '.join(p.voters))} | {_canon_status(promotions, 'pitch', p.id)} |"
                for p in pitches
            ]
        else:
            lines.append("No pitches.")
        wrap = ledger.log.latest_wrap(bs.id)
        if wrap is not None:
            lines += ["", f"### Wrap-up ({_day(wrap.created_at)}, asked by {wrap.by})", ""]
            lines.append(str(wrap.data.get("summary", "")))
            for title, key in (("Decisions", "decisions"), ("Open questions", "open_questions")):
                items = wrap.data.get(key, [])
                lines += ["", f"**{title}**", ""]
                lines += [f"- {_cell(i['text'])} ({i['author']})" for i in items] or ["- none"]
        sections.append("\n".join(lines))
    in_canon = sum(1 for p in promotions if p.undone_at is None)
    head = [
        f"# Ideas ledger: {show}",
        "",
        f"Exported {datetime.now(UTC).date().isoformat()} by writersroom: "
        f"{len(brainstorms)} brainstorms, {pitch_count} pitches, {in_canon} in the bible.",
    ]
    history = ["## Changes to canon", ""]
    history += [
        f"- {_day(p.created_at)}: {p.source_kind} #{p.source_id} added as {p.file}, approved by "
        f"{p.approved_by}" + (f"; undone {_day(p.undone_at)}" if p.undone_at else "")
        for p in promotions
    ] or ["- none"]
    return "\n\n".join(["\n".join(head), *sections, "\n".join(history)]) + "\n"
