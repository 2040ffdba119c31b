"""Who may do what: link a channel to a show (admins) and edit canon (canon editors).

The rule lives here, once, for every platform: an author is matched by their user ID or any
of their role IDs against the lists the settings give for the platform. Admins may always
edit canon. On a platform in ``open_platforms`` (the terminal) an empty editor list means
everyone: whoever sits at that terminal owns the bible's files anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.messages import RoomEvent


def _ids(event: RoomEvent) -> frozenset[str]:
    return frozenset({event.author_id, *event.roles} - {""})


@dataclass(frozen=True)
class Access:
    admins: Mapping[str, frozenset[str]] = field(default_factory=dict)
    editors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    open_platforms: frozenset[str] = frozenset()

    def is_admin(self, event: RoomEvent) -> bool:
        return bool(_ids(event) & self.admins.get(event.platform, frozenset()))

    def sees_all_shows(self, event: RoomEvent) -> bool:
        """Who may learn which shows this machine holds: admins, and whoever sits at the
        machine itself (the terminal)."""
        return event.platform in self.open_platforms or self.is_admin(event)

    def may_edit_canon(self, event: RoomEvent) -> bool:
        editors = self.editors.get(event.platform, frozenset())
        if not editors and event.platform in self.open_platforms:
            return True
        return self.is_admin(event) or bool(_ids(event) & editors)
