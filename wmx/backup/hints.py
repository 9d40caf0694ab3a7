"""What to do about a repository's error: borg's own words say what went wrong, not what
the operator should change. `hint` maps the errors an operator meets to one line naming
the fix; `wmx backup run`, `wmx backup list` and `wmx doctor` show it under the error.
"""

from __future__ import annotations

# (words in borg's or the job's error, what to do), first match wins.
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("passphrase supplied", "passphrase is incorrect"),
        "the passphrase on the host is not the one this repository was made with: "
        "`wmx deploy` writes secrets.yml's backup_passphrase back to the host; if "
        "secrets.yml's was replaced, put the old one back (the repository key is encrypted "
        "with it)",
    ),
    (
        ("does not exist", "is not a valid repository"),
        "the repository is not there: mount its disk if it lives on one, or check the path "
        "in wmx.yaml; `wmx deploy --full` creates a new, empty repository",
    ),
    (
        ("Connection closed by remote host", "connection unexpectedly closed", "ssh:", "Remote:"),
        "the repository host does not answer over SSH: check that it is up (`wmx status`) "
        "and that the homeserver host's key is authorized there (`wmx deploy` does that for "
        "hosts of the inventory's backup group)",
    ),
    (
        ("Failed to create/acquire the lock", "LockTimeout", "lock.exclusive"),
        "another borg process holds the repository's lock: wait for it to end (`wmx logs "
        "backup`); a lock left by a killed run is broken with `borg break-lock` on the host",
    ),
    (
        ("No space left on device",),
        "the repository's disk is full: free space there or lower backup.retention in "
        "wmx.yaml, deploy, then `wmx backup run`",
    ),
)


def hint(error: object) -> str:
    """The fix for a repository's error, or "" when wmx knows none."""
    text = str(error or "")
    for words, advice in HINTS:
        if any(word in text for word in words):
            return advice
    return ""
