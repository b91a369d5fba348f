"""Which sockets a process holds, from /proc: how the tests show that nothing leaves the box
(tests/box/test_security.py) and what the fleet publisher opens (tests/fleet/test_fleet_run.py)."""

from __future__ import annotations

import os
from pathlib import Path

NET_TABLES = ("tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6")


def socket_inodes(pid: int) -> set[int]:
    """Inodes of every socket the process holds open."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def table_inodes(pid: int, table: str) -> set[int]:
    """Socket inodes listed in /proc/<pid>/net/<table> (the process's network namespace)."""
    path = Path(f"/proc/{pid}/net/{table}")
    if not path.exists():
        return set()
    lines = path.read_text().splitlines()[1:]
    column = 6 if table == "unix" else 9  # the "Inode" column
    return {int(line.split()[column]) for line in lines if len(line.split()) > column}
