"""`python -m assistant` is the `credit-assistant` command."""

import sys

from .cli import main

sys.exit(main())
