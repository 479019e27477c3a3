"""`python -m debusine.admin`: the same as `debusine-admin`."""

import sys

from debusine.admin import main

sys.exit(main())
