"""Which show a channel works on: a mapping set in the channel, then the settings file,
then WR_DEFAULT_SHOW. With none of them, the writer gets a hint instead of another show's
canon."""

from __future__ import annotations

from pathlib import Path

import yaml

from agents.errors import BadRequest
from memory.room_state import RoomState


class NoShowForChannel(BadRequest):
    def __init__(self, prefix: str) -> None:
        super().__init__(
            "This channel is not linked to a show yet. Someone allowed to can run "
            f"`{prefix}show NAME` here, or the bot's admin can set WR_DEFAULT_SHOW."
        )


def load_show_map(path: Path | None) -> dict[tuple[str, str], str]:
    """YAML like {T0123: {C0456: lantern-line}} -> {(workspace, channel): show}."""
    if path is None or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return {
        (str(ws), str(ch)): str(show)
        for ws, channels in data.items()
        for ch, show in (channels or {}).items()
    }


class ShowResolver:
    def __init__(
        self, state: RoomState, file_map: dict[tuple[str, str], str], default: str | None
    ) -> None:
        self._state = state
        self._file_map = file_map
        self._default = default or None

    def resolve(self, platform: str, workspace: str, channel: str) -> str | None:
        return (
            self._state.mapped_show(platform, workspace, channel)
            or self._file_map.get((workspace, channel))
            or self._default
        )

    def link(self, platform: str, workspace: str, channel: str, show: str, by: str) -> None:
        self._state.map_show(platform, workspace, channel, show, by)
