"""Workflows: what a command does from start to end (render, then run on hosts, then
check): deploy, restore, drill. The CLI parses arguments and presents what these return."""
