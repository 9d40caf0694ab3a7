"""One wheel directory for the Python packages every lab host installs (Synapse, the IRC
bridge), so that each is downloaded once per machine rather than once per host.

pip's own cache (bind-mounted at /root/.cache/pip) keeps only what HTTP responses allow
it to keep: behind a proxy that strips caching headers, that is nothing but the wheels
pip builds itself. So the lab keeps a wheelhouse besides: ``/var/cache/wmx/wheels`` on
the machine, bind-mounted at ``/var/cache/wmx-lab/wheels`` in every host, whose
/etc/pip.conf names it as ``find-links``. pip still asks the index which versions exist,
and takes a file it finds in the wheelhouse rather than downloading it.

The wheelhouse fills itself from hosts: `harvest` lists what each virtual environment
under /opt holds (`pip freeze`) and has pip put the wheels of what is missing into it
(downloaded, or built: psycopg2). Each wheel lands under a temporary name in a
subdirectory and is renamed into place, so a host installing meanwhile never reads half a
file; its name gains a build tag (``-1wmxlab-``), since pip breaks a tie between the same
wheel from find-links and from the index in the index's favour, and a build tag wins it.
Hosts are identical Debian systems, so a wheel built on one fits every other; pip matches
platform tags, so hosts of another Debian release take only what fits them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from subprocess import CompletedProcess

IN_HOST = Path("/var/cache/wmx-lab/wheels")

PIP_CONF_LINE = f"find-links = {IN_HOST}\n"

# Run inside a host: for every venv under /opt, the wheels of its packages that the
# wheelhouse lacks, built or downloaded into a private directory, then renamed into place.
HARVEST_SCRIPT = r"""
set -eu
house="$1"
incoming="$house/.incoming-$(hostname)"
# name-version-python-abi-platform.whl gets the build tag 1wmxlab: between two equal
# candidates pip takes the index's, but a build tag ranks a wheel above the same one
# without, so pip takes the wheelhouse's copy (the same bytes) and downloads nothing.
tagged() {
  base=$(basename "$1" .whl)
  if [ "$(printf '%s' "$base" | tr -cd - | wc -c)" -eq 4 ]; then
    name=${base%%-*}; rest=${base#*-}
    base="$name-${rest%%-*}-1wmxlab-${rest#*-}"
  fi
  printf '%s.whl' "$base"
}
for wheel in "$house"/*.whl; do
  [ -e "$wheel" ] || continue
  target="$house/$(tagged "$wheel")"
  [ "$wheel" = "$target" ] || mv "$wheel" "$target"
done
rm -rf "$incoming"
mkdir -p "$incoming"
have=$(ls "$house" | sed -n 's/^\([^-]*\)-\([^-]*\)-.*\.whl$/\1==\2/p' \
  | tr 'A-Z.-' 'a-z__')
for python in /opt/*/venvs/*/bin/python /opt/*/venv/bin/python; do
  [ -x "$python" ] || continue
  "$python" -m pip freeze --all 2>/dev/null | grep '==' > "$incoming/all.txt" || continue
  : > "$incoming/missing.txt"
  while IFS= read -r pin; do
    key=$(printf '%s' "$pin" | tr 'A-Z.-' 'a-z__')
    printf '%s\n' "$have" | grep -qxF "$key" || printf '%s\n' "$pin" >> "$incoming/missing.txt"
  done < "$incoming/all.txt"
  if [ -s "$incoming/missing.txt" ]; then
    "$python" -m pip wheel -q --no-deps --wheel-dir "$incoming/new" -r "$incoming/missing.txt"
  fi
done
count=0
for wheel in "$incoming"/new/*.whl; do
  [ -e "$wheel" ] || continue
  mv "$wheel" "$house/$(tagged "$wheel")"
  count=$((count + 1))
done
rm -rf "$incoming"
echo "$count"
"""


def harvest(
    run: Callable[[Sequence[str]], CompletedProcess[str]],
) -> int:
    """Add to the wheelhouse every wheel a host's venvs use that it lacks; how many.

    ``run`` runs an argv inside the host (Lab.run with check=True).
    """
    result = run(["sh", "-c", HARVEST_SCRIPT, "harvest", str(IN_HOST)])
    found = re.findall(r"^(\d+)$", result.stdout, flags=re.MULTILINE)
    return int(found[-1]) if found else 0


def add_find_links(pip_conf: Path) -> None:
    """Name the wheelhouse in a host's /etc/pip.conf (its [global] section)."""
    try:
        text = pip_conf.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = "[global]\n"
    if PIP_CONF_LINE in text:
        return
    if "[global]" not in text:
        text += "[global]\n"
    head, _, tail = text.partition("[global]\n")
    pip_conf.write_text(f"{head}[global]\n{PIP_CONF_LINE}{tail}", encoding="utf-8")
