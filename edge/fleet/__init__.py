"""Fleet reporting: boxes publish rep and session summaries and their health to the gym's
MQTT broker (Mosquitto); one collector stores every box's sessions in a fleet database.

Topics (version 1, documented in README "Fleet"), `<prefix>` being fleet.topic_prefix:

    <prefix>/v1/<gym>/<box>/session   QoS 1: one session as `hipflex history --json` prints
                                      it (the analyze schema's session, with its reps),
                                      sent again whenever it changes; the newest wins.
    <prefix>/v1/<gym>/<box>/health    QoS 1, retained: the box's health; the broker
                                      publishes {"state": "offline"} as its last will.

The box name in the topic is the box's identity: the broker's ACL lets each box write only
under its own name, so the collector trusts the topic, never the payload.
"""

from __future__ import annotations

from edge.config.fleet import FleetConfig

TOPIC_VERSION = "v1"
SESSION = "session"
HEALTH = "health"


def box_topic(fleet: FleetConfig, kind: str, box: str | None = None) -> str:
    """The topic of one kind of message from one box (this box unless `box` is given)."""
    return f"{fleet.topic_prefix}/{TOPIC_VERSION}/{fleet.gym}/{box or fleet.box}/{kind}"


def gym_filter(fleet: FleetConfig) -> str:
    """The subscription that reads every box of the gym."""
    return f"{fleet.topic_prefix}/{TOPIC_VERSION}/{fleet.gym}/+/+"


def parse_topic(fleet: FleetConfig, topic: str) -> tuple[str, str] | None:
    """(box, kind) of a topic under the gym, or None for any other topic."""
    head = f"{fleet.topic_prefix}/{TOPIC_VERSION}/{fleet.gym}/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None
