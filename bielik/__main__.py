import sys

from bielik.book.cli import main

sys.exit(main())
