"""The emotional arc drawn two ways: a PNG (matplotlib's Agg backend, no display and no
pyplot global state, so two rooms can draw at once) and a small text chart for a terminal
or a chat's code block (one row per beat, a bar left or right of a centre line).

Beats are numbered ("1. …") on the axis and in the rows, so two beats whose names shorten
alike still read apart; a long name loses its middle, keeping its end ("… - DAWN", "(2)").
Every text is drawn with ``parse_math=False``: a beat named "$5 or $10" is shown as written,
never read as mathtext (which drops the '$' or fails on "$x^$")."""

from __future__ import annotations

import io
from collections.abc import Sequence

WIDTH_PX, HEIGHT_PX, DPI = 1000, 520, 100
LABEL_CHARS = 28  # a name longer than this loses its middle to '…'
HALF = 10  # text chart: cells on each side of the centre line


def _short(name: str, most: int) -> str:
    """``name`` in at most ``most`` characters: its start and its end, the middle cut."""
    if len(name) <= most:
        return name
    tail = (most - 1) // 2 + 1  # the end tells beats apart ('- DAWN', '(2)'): it gets more
    return name[: most - 1 - tail].rstrip() + "…" + name[-tail:].lstrip()


def labels(names: Sequence[str], most: int = LABEL_CHARS) -> list[str]:
    """Each beat's label: its number and its name, shortened from the middle."""
    return [f"{i}. {_short(name, most)}" for i, name in enumerate(names, 1)]


def png(
    title: str,
    names: Sequence[str],
    valences: Sequence[float],
    characters: dict[str, list[float | None]] | None = None,
    notes: Sequence[str] = (),
) -> bytes:
    """The arc as a PNG of WIDTH_PX × HEIGHT_PX: beats on x (their own names), valence on
    y from -1 to 1; each point labelled with its note (the emotion); a dashed line per
    character where ``characters`` gives one (a beat the character is not in is a gap)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(len(names)))
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.plot(xs, list(valences), marker="o", linewidth=2.2, color="#1f4e79", label="the story")
    for x, y, note in zip(xs, valences, notes, strict=False):
        below = y > 0.6  # near the top, the label goes under the point, clear of the title
        ax.annotate(
            note,
            (x, y),
            textcoords="offset points",
            xytext=(0, -16 if below else 8),
            ha="center",
            fontsize="small",
            color="#1f4e79",
            parse_math=False,
        )
    for name, series in (characters or {}).items():
        ys = [float("nan") if v is None else v for v in series]
        ax.plot(xs, ys, marker=".", linestyle="--", linewidth=1.2, label=name)
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([-1, -0.5, 0, 0.5, 1])
    ax.set_ylabel("valence", parse_math=False)
    ax.set_xticks(xs, labels(names), rotation=30, ha="right", parse_math=False)
    ax.set_xlim(-0.3, max(len(names) - 1, 0) + 0.3)
    ax.grid(axis="y", color="0.9")
    ax.set_title(title, parse_math=False)
    if characters:
        for text in ax.legend(loc="best", fontsize="small").get_texts():
            text.set_parse_math(False)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def text_chart(names: Sequence[str], valences: Sequence[float], notes: Sequence[str]) -> str:
    """One row per beat: its number and name, a bar left (negative) or right (positive) of '│', the
    valence and a note (the emotion)."""
    shown = labels(names)
    width = max((len(label) for label in shown), default=4)
    rows = []
    for label, value, note in zip(shown, valences, notes, strict=True):
        cells = round(abs(value) * HALF)
        left = ("█" * cells).rjust(HALF) if value < 0 else " " * HALF
        right = ("█" * cells).ljust(HALF) if value > 0 else " " * HALF
        rows.append(f"{label.ljust(width)} {left}│{right} {value:+.2f} {note}".rstrip())
    return "\n".join(rows)
