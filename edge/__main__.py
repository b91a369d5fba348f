"""`python -m edge`: the same command line as `hipflex`."""

from edge.cli import main

raise SystemExit(main())
