"""`python3 -m wmx_agent.backup …`: the same as /usr/local/sbin/wmx-backup."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
