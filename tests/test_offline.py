"""Proof, from inside the test run, that the suite runs without a network.

./dev.sh test runs pytest under ``unshare -n`` and sets FASTCONDA_NETWORK=off there (CI requires it).
Only interface names are read: no packet leaves this machine.
"""

from __future__ import annotations

import os
import socket

import pytest

UNDER_UNSHARE = os.environ.get("FASTCONDA_NETWORK") == "off"


@pytest.mark.skipif(not UNDER_UNSHARE, reason="not run under `unshare -n` (./dev.sh test does that as root)")
def test_only_loopback_exists_so_no_test_can_reach_a_network() -> None:
    interfaces = {name for _, name in socket.if_nameindex()}
    assert interfaces == {"lo"}
    assert os.environ.get("FASTCONDA_OFFLINE") == "1"


@pytest.mark.skipif(not UNDER_UNSHARE, reason="not run under `unshare -n` (./dev.sh test does that as root)")
def test_loopback_is_up_for_the_servers_the_tests_start() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
