"""`wmx doctor`: every check a remote homeserver and a careful operator would make.

- `checks`: `Check` (id, title, ok, detail, fix, side) and `Report`;
- `outside`: from outside, as another homeserver: DNS, `.well-known`, server discovery,
  TLS (chain, names, protocol versions, expiry), signed server keys, versions
  (`discovery`, `dns`, `fetch`, `keys` are its parts);
- `inside`, `exposure`, `backups`, `release`: from inside, as an operator: clocks, disk,
  memory, live Synapse settings, registration, what must stay private, PostgreSQL's
  collation, backups and the signing key in them, Synapse against PyPI;
- `run`: `run_doctor(site, DoctorOptions(...))` → `Report`.
"""

from __future__ import annotations

from wmx.doctor.checks import Check, Report
from wmx.doctor.run import KINDS, DoctorOptions, run_doctor

__all__ = ["KINDS", "Check", "DoctorOptions", "Report", "run_doctor"]
