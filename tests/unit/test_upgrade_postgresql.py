"""`wmx upgrade postgresql`'s plan from what the database host reports, and the shell it
runs there (wmx/ops/upgrade_postgresql.py)."""

from __future__ import annotations

import pytest

from wmx.errors import InputError, WmxError
from wmx.ops import upgrade_postgresql as pg

# pg_lsclusters --no-header on a host just moved from Debian 12 to 13: the old cluster
# serves the port, Debian created an empty 17/main beside it.
AFTER_OS_UPGRADE = """\
15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/pg5.log
17  main    5433 online postgres /var/lib/postgresql/17/main /var/log/postgresql/pg7.log
codename=trixie
installed=15
installed=17
"""
AFTER_PG_UPGRADE = """\
15  main    5433 down   postgres /var/lib/postgresql/15/main /var/log/postgresql/pg5.log
17  main    5432 online postgres /var/lib/postgresql/17/main /var/log/postgresql/pg7.log
codename=trixie
installed=15
installed=17
"""


def test_after_a_release_upgrade_the_port_s_cluster_moves_to_the_release_s_version() -> None:
    plan = pg.parse_probe("db1", AFTER_OS_UPGRADE)
    assert (plan.release, plan.current.version, plan.target) == ("trixie", "15", "17")
    assert plan.needed and plan.current.online and plan.current.port == 5432
    # The empty cluster Debian made is in pg_upgradecluster's way; nothing is "old" yet.
    assert plan.in_the_way == pg.Cluster("17", "main", 5433, True)
    assert plan.old == ()


def test_after_the_upgrade_the_old_cluster_is_kept_for_drop_old() -> None:
    plan = pg.parse_probe("db1", AFTER_PG_UPGRADE)
    assert not plan.needed
    assert plan.old == (pg.Cluster("15", "main", 5433, False),)


def test_a_fresh_debian_12_host_needs_nothing() -> None:
    plan = pg.parse_probe(
        "db1", "15 main 5432 online postgres /x /y\ncodename=bookworm\ninstalled=15\n"
    )
    assert (plan.target, plan.needed, plan.old) == ("15", False, ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("15 main 5432 online p /x /y\ncodename=sid\n", "db1 runs Debian sid; wmx knows"),
        (
            "15 main 5433 online p /x /y\ncodename=trixie\n",
            "no PostgreSQL cluster serves port 5432",
        ),
    ],
)
def test_an_unknown_release_or_no_cluster_on_the_port_is_said(text: str, message: str) -> None:
    with pytest.raises(WmxError, match=message):
        pg.parse_probe("db1", text)


def test_apply_refuses_what_has_nothing_to_do_before_touching_anything() -> None:
    done = pg.parse_probe("db1", AFTER_PG_UPGRADE)
    with pytest.raises(InputError, match="already runs PostgreSQL 17, the version Debian trixie"):
        pg.apply_postgresql(None, done, print)  # type: ignore[arg-type]
    missing = pg.parse_probe("db1", AFTER_OS_UPGRADE.replace("installed=17\n", ""))
    with pytest.raises(InputError, match="PostgreSQL 17's server is not installed"):
        pg.apply_postgresql(None, missing, print)  # type: ignore[arg-type]


def test_the_empty_cluster_is_dropped_only_while_it_holds_no_database() -> None:
    script = pg.drop_empty_script("17")
    check, drop = script.index("exit 3"), script.index("pg_dropcluster --stop 17 main")
    assert check < drop
    assert "psql --cluster 17/main" in script


def test_the_upgrade_keeps_the_old_cluster_stopped_and_manual() -> None:
    script = pg.upgrade_script("15", "17")
    assert "pg_upgradecluster --method=upgrade -v 17 15 main" in script
    assert "echo manual > /etc/postgresql/15/main/start.conf" in script
    assert "pg_dropcluster" not in script and "--link" not in script


def test_drop_old_removes_the_old_server_once_no_cluster_of_it_is_left() -> None:
    script = pg.drop_old_script("15")
    assert script.index("pg_dropcluster --stop 15 main") < script.index("purge")
    assert "grep -qx 15" in script and "postgresql-15 postgresql-client-15" in script
