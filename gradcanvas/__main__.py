"""`python -m gradcanvas`: the same as the `gradcanvas` command."""

import sys

from gradcanvas.cli import main

if __name__ == "__main__":
    sys.exit(main())
