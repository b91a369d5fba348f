"""Session history: every rep, set, fault and status period, in SQLite on the box.

Where to look:

- `writer`: `History`, what the live loop calls (`start_session`, `record`, `sample`,
  `poll`, `end_session`, `close`), and how a write that fails waits without losing a rep;
- `rows`: what each write does to the tables;
- `spool`: where writes go while the disk is full, and their replay;
- `reader`: sessions and angle series read back (`History.sessions` and friends), as
  `hipflex history`, `export`, `report` and the fleet publisher show them;
- `schema`: the tables, their migrations and how a connection is opened.

`from edge.history import ...` keeps working for every name below.
"""

from __future__ import annotations

from edge.analysis import LEGS, summarize
from edge.history.schema import (
    DEFAULT_DB,
    MIGRATIONS,
    REP_FIELDS,
    SCHEMA_VERSION,
    SERIES_COLUMNS,
    TABLES,
    connect,
    default_db_path,
    migrate,
    utc_text,
)
from edge.history.writer import History

__all__ = [
    "DEFAULT_DB",
    "LEGS",
    "MIGRATIONS",
    "REP_FIELDS",
    "SCHEMA_VERSION",
    "SERIES_COLUMNS",
    "TABLES",
    "History",
    "connect",
    "default_db_path",
    "migrate",
    "summarize",
    "utc_text",
]
