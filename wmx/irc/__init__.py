"""The IRC bridge (Heisenbridge) as wmx drives it.

Heisenbridge is configured by talking to its bot in Matrix rooms; it keeps what it is
told in Synapse, as account data of the bot. wmx signs in as its own admin account (the
bridge's owner, `-o` in the unit), sends the bot the commands a person would type, and
reads the bot's account data (Admin API) to know the bridge's state exactly and to see
each command take effect: no parsing of chat replies decides anything.

- `wmx.irc.state`: the bridge's state, read from its bot's account data.
- `wmx.irc.bot`: commands to the bot, and waiting for their effect.
- `wmx.irc.names`: the site's bridge, its networks, channel names and room aliases.
- `wmx.irc.manage`: what `wmx irc` does: make the bridge match wmx.yaml, the relay
  connection, plumbing channels into rooms.
- `wmx.irc.health`: Synapse's ping of the bridge, and its status against wmx.yaml.
"""
