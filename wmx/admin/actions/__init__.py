"""The administration commands' work, one module per command group (room, user,
moderation, media, regtoken, notice, reports, admin): each action takes a
`wmx.admin.act.Act` and the command's checked values, asks before anything destructive,
and returns what to show. The commands in wmx.cli only parse and call them."""
