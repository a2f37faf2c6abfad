"""``python -m flatlib.networks [--jobs N] [--out PATH] [--strength K]``: run or resume the network
study (see :mod:`flatlib.networks.study`)."""
import sys

from .study import main

sys.exit(main())
