"""One MQTT client set up from the [fleet] section, and one clear line for each way a
connection fails (wrong CA, wrong password, broker down), so the journal says what to fix."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from edge.config.fleet import FleetConfig
from edge.errors import HipflexError

KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0


def read_password(path: str) -> str:
    """The first line of the password file; the file, not the config, holds the secret."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise HipflexError(f"fleet: cannot read password_file {path}: {exc.strerror}") from None
    password = text.splitlines()[0].strip() if text.strip() else ""
    if not password:
        raise HipflexError(f"fleet: password_file {path} is empty")
    return password


def make_client(
    fleet: FleetConfig, client_id: str, *, clean_session: bool, username: str | None = None
) -> Any:
    """A paho client with TLS, the credentials and a reconnect-friendly setup; the caller
    sets the callbacks and the will. Raises HipflexError with one line on a bad file."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise HipflexError(
            "fleet: paho-mqtt is not installed (pip install 'hipflex-edge[fleet]')"
        ) from None

    mqtt._socketpair_compat = _unix_socketpair
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(username or fleet.username, read_password(fleet.password_file))
    try:
        client.tls_set(
            ca_certs=fleet.ca_file,
            certfile=fleet.cert_file or None,
            keyfile=fleet.key_file or None,
        )
    except FileNotFoundError as exc:
        raise HipflexError(f"fleet: TLS file {exc.filename or fleet.ca_file} not found") from None
    except (ssl.SSLError, OSError) as exc:
        raise HipflexError(f"fleet: cannot load the TLS files ({_reason(exc)})") from None
    client.connect_timeout = CONNECT_TIMEOUT_S
    return client


def _unix_socketpair() -> tuple[socket.socket, socket.socket]:
    """paho wakes its loop through a socket pair it makes from loopback TCP (for Windows);
    a Unix pair does the same here, so the box's only AF_INET socket is the broker's and
    the unit's IPAddressAllow lists the broker alone. tests/fleet/test_fleet_run.py checks it."""
    pair = socket.socketpair()
    for end in pair:
        end.setblocking(False)
    return pair


def connect_error(fleet: FleetConfig, exc: BaseException) -> str:
    """One line for a failed TCP/TLS connection attempt."""
    where = f"broker {fleet.broker_host}:{fleet.broker_port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"fleet: {where} has a certificate ca_file {fleet.ca_file} does not trust "
            f"({exc.verify_message})"
        )
    if isinstance(exc, ssl.SSLError):
        return f"fleet: TLS with {where} failed ({_reason(exc)})"
    if isinstance(exc, socket.gaierror):
        return f"fleet: cannot resolve broker_host {fleet.broker_host!r} ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"fleet: {where} refused the connection (is mosquitto running?)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"fleet: {where} did not answer within {CONNECT_TIMEOUT_S:.0f} s"
    if isinstance(exc, OSError):
        return f"fleet: cannot reach {where} ({exc.strerror or exc})"
    return f"fleet: cannot connect to {where} ({exc})"


def refused_line(fleet: FleetConfig, reason: Any, username: str | None = None) -> str:
    """One line for a CONNACK that refuses us (wrong password, user not allowed)."""
    who = username or fleet.username
    return (
        f"fleet: broker {fleet.broker_host}:{fleet.broker_port} refused user {who!r}: "
        f"{str(reason).lower()} (check username and password_file)"
    )


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)
