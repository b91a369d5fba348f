"""Events the judge emits and every consumer (LEDs, buzzer, journal, events file,
history) reacts to.

type "rep":    data holds every field of a rep in the `analyze --json` schema.
type "fault":  a fault seen live, before its rep ends: {"fault": name, "leg": ..., "rep": index}.
type "status": {"status": "ok" | "no_athlete" | "not_lying" | "tracking_lost" | ...}.
type "set":    a new set starts: {"set": n, "leg": ...}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["rep", "fault", "status", "set"]


@dataclass(frozen=True, slots=True)
class Event:
    t: float
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "type": self.type, **self.data}
