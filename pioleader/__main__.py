"""Allow ``python -m pioleader``."""

from pioleader.cli import main

raise SystemExit(main())
