"""The emotional arc drawn two ways: a PNG (matplotlib's Agg backend, no display and no
pyplot global state, so two rooms can draw at once) and a small text chart for a terminal
or a chat's code block (one row per beat, a bar left or right of a centre line)."""

from __future__ import annotations

import io
from collections.abc import Sequence

WIDTH_PX, HEIGHT_PX, DPI = 1000, 520, 100
LABEL_CHARS = 28  # an x-axis label longer than this is cut with '…'
HALF = 10  # text chart: cells on each side of the centre line


def _short(name: str, most: int) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "…"


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
        )
    for name, series in (characters or {}).items():
        ys = [float("nan") if v is None else v for v in series]
        ax.plot(xs, ys, marker=".", linestyle="--", linewidth=1.2, label=name)
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([-1, -0.5, 0, 0.5, 1])
    ax.set_ylabel("valence")
    ax.set_xticks(xs, [_short(n, LABEL_CHARS) for n in names], rotation=30, ha="right")
    ax.set_xlim(-0.3, max(len(names) - 1, 0) + 0.3)
    ax.grid(axis="y", color="0.9")
    ax.set_title(title)
    if characters:
        ax.legend(loc="best", fontsize="small")
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def text_chart(names: Sequence[str], valences: Sequence[float], notes: Sequence[str]) -> str:
    """One row per beat: its name, a bar left (negative) or right (positive) of '│', the
    valence and a note (the emotion)."""
    width = min(max((len(n) for n in names), default=4), LABEL_CHARS)
    rows = []
    for name, value, note in zip(names, valences, notes, strict=True):
        cells = round(abs(value) * HALF)
        left = ("█" * cells).rjust(HALF) if value < 0 else " " * HALF
        right = ("█" * cells).ljust(HALF) if value > 0 else " " * HALF
        label = _short(name, LABEL_CHARS).ljust(width)
        rows.append(f"{label} {left}│{right} {value:+.2f} {note}".rstrip())
    return "\n".join(rows)
