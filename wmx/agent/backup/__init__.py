"""wmx-backup: the backup job of a wmx homeserver host, and the host's side of restores.

Reads /etc/wmx/backup/job.json (what to back up, where to: rendered by wmx from the site)
and borg's environment from /etc/wmx/backup/borg.env (the passphrase reaches borg through
BORG_PASSCOMMAND, never on a command line). `wmx backup …` runs the subcommands over
SSH; the timer runs `run`.

  run [--events] [--label L]  dump, archive to every repository, prune, compact, metrics
  init                    create the repositories that do not exist yet (JSON)
  list                    archives of every repository and the last run (JSON)
  status                  the last run (JSON)
  export-key --repo L     the repository key (encrypted with the passphrase) on stdout
  facts [--from DIR]      database counts, latest events, signing key (JSON)
  extract / export-tar / receive / restore-db / restore-files / verify-media /
  stop-services / start-services / clean-restore: steps of `wmx backup restore`

Modules: `config` (the job's settings, its lock, files it writes), `borg` (running borg
and reading its errors), `facts` (the database snapshot, dump and the drill's counts,
media checksums), `metrics` (status file and textfile metrics), `job` (`run`),
`repositories` (`init`, `list`, `status`, `export-key`), `restore` (the restore steps),
`cli` (the command line).
"""
