"""``python -m sksm``: the same as the ``sksm`` command."""

import sys

from .cli import main

sys.exit(main())
