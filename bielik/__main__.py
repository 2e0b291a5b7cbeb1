import sys

from bielik.cli import main

sys.exit(main())
