"""How `wmx upgrade` reaches a Synapse host and what it installs there: a shell script
run over the site's SSH connection, the release's venv and the pip line that fills it.

Below wmx/ops/upgrade.py and wmx/ops/upgrade_workers.py, which both use it (so neither
imports the other for it); tests replace `remote` here to record the host steps.
"""

from __future__ import annotations

import shlex
import subprocess

from wmx.components.synapse import SYNAPSE_VENVS_DIR
from wmx.errors import WmxError
from wmx.site.topology import HostView
from wmx.ssh import connection
from wmx.ssh.unreachable import SSH_FAILED, unreachable

PIP_EXTRAS = "postgres,url-preview,oidc"  # the synapse role's synapse_pip_extras
# With workers (Synapse's `redis` extra): the synapse role's bound on txredisapi, whose
# 1.6 breaks the Redis connection of releases before 1.163 (their extra does not bound it).
REDIS_PINS = ("txredisapi<1.6.0",)


def remote(host: HostView, script: str, timeout: float = 600) -> str:
    argv = connection(host).command(["sh", "-c", script])
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise WmxError(f"{host.name}: no end within {int(timeout)} s: {script[:60]}") from None
    if done.returncode == SSH_FAILED:
        raise unreachable(host, done.stderr)
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise WmxError(f"{host.name}: {cause[-300:]}")
    return done.stdout


def venv_of(version: str) -> str:
    return f"{SYNAPSE_VENVS_DIR}/{version}"


def install_script(version: str, extras: str = PIP_EXTRAS, pins: tuple[str, ...] = ()) -> str:
    venv = venv_of(version)
    requirement = " ".join(shlex.quote(r) for r in (f"matrix-synapse[{extras}]=={version}", *pins))
    return (
        f"set -e; test -x {venv}/bin/python || /usr/bin/python3 -m venv {venv}; "
        f"{venv}/bin/pip install --disable-pip-version-check -q {requirement}"
    )
