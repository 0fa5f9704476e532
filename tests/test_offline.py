"""Proof, from inside the test run, that the suite runs without a network.

./dev.sh test runs pytest under ``unshare -n`` and sets FASTCONDA_NETWORK=off there (CI requires it).
Only interface names are read: no packet leaves this machine.
"""

from __future__ import annotations

import os
import socket

import pytest

UNDER_UNSHARE = os.environ.get("FASTCONDA_NETWORK") == "off"
# Without root there is no `unshare -n`, a limit of the host (./dev.sh then runs with FASTCONDA_OFFLINE=1);
# where the network must be off (CI: FASTCONDA_REQUIRE_NO_NETWORK=1) the checks always run, and fail.
offline = pytest.mark.skipif(
    not UNDER_UNSHARE and os.environ.get("FASTCONDA_REQUIRE_NO_NETWORK") != "1",
    reason="not run under `unshare -n` (./dev.sh test does that as root)",
)


@offline
def test_only_loopback_exists_so_no_test_can_reach_a_network() -> None:
    interfaces = {name for _, name in socket.if_nameindex()}
    assert interfaces == {"lo"}
    assert os.environ.get("FASTCONDA_OFFLINE") == "1"


@offline
def test_loopback_is_up_for_the_servers_the_tests_start() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
