"""Entry point for ``python -m torchrtx``."""

from torchrtx.cli import main

raise SystemExit(main())
