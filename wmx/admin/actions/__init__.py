"""The administration commands' work, one module per command group: `room`, `user` (with
its moderation, and `wmx admin bootstrap`), `media`, and `service` (regtoken, notice,
reports). Each action takes a `wmx.admin.act.Act` and the command's checked values, asks
before anything destructive, and returns what to show; the commands in wmx.cli only
parse and call them."""
