"""Which show a conversation works on: the channel's mapping (set in the channel, then the
settings file), then, in a direct message, the writer's own show (set by an admin), then
WR_DEFAULT_SHOW, but only while the machine holds at most one show. A writer's own show is
never used in a channel, where everyone in it would read that show's canon. With several
shows a DM or an unlinked channel gets none until an admin says which: any member could
otherwise DM the bot and read whichever show happens to be the default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from agents.errors import BadRequest
from memory.room_state import RoomState


class NoShowForChannel(BadRequest):
    def __init__(self, prefix: str) -> None:
        super().__init__(
            "This conversation is not linked to a show yet. An admin can run "
            f"`{prefix}show NAME` in a channel to link it, or `{prefix}show NAME for @writer` "
            "to set a writer's own show for their direct messages with the bot."
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
        self,
        state: RoomState,
        file_map: dict[tuple[str, str], str],
        default: str | None,
        shows: Callable[[], list[str]] = list,
    ) -> None:
        self._state = state
        self._file_map = file_map
        self._default = default or None
        self._shows = shows  # the shows this machine holds

    def resolve(
        self, platform: str, workspace: str, channel: str, user: str = "", direct: bool = False
    ) -> str | None:
        return (
            self._state.mapped_show(platform, workspace, channel)
            or self._file_map.get((workspace, channel))
            or (self._state.user_show(platform, user) if user and direct else None)
            or (self._default if len(self._shows()) <= 1 else None)
        )

    def link(self, platform: str, workspace: str, channel: str, show: str, by: str) -> None:
        self._state.map_show(platform, workspace, channel, show, by)

    def link_user(self, platform: str, user: str, show: str, by: str) -> None:
        self._state.set_user_show(platform, user, show, by)
