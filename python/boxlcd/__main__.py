"""python -m boxlcd: the boxlcd command."""
import sys

from boxlcd.cli import main

sys.exit(main())
