"""Run the ticketflow command line: ``python -m ticketflow``."""

import sys

from .cli import main

sys.exit(main())
