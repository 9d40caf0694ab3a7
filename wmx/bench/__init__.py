"""`wmx bench`: a load generator for a deployed homeserver (docs/bench.md).

N users in M rooms send messages at a given rate; each message is timed from the start of
its send request to its arrival in another member's /sync. Accounts and rooms are made for
the run through the Admin API and removed after it (`accounts`); the traffic itself goes
through the client API with matrix-nio (`load`); `spec` holds the plan, the guard against
loading a server that is not a test deployment, and the figures.
"""

from wmx.bench.spec import BenchResult, BenchSpec, check_test_deployment

__all__ = ["BenchResult", "BenchSpec", "check_test_deployment"]
