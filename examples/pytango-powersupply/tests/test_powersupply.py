from __future__ import annotations

import pytest
from tango import DevState
from tango.test_context import DeviceTestContext

from powersupply.server import PowerSupply


@pytest.fixture
def device():
    with DeviceTestContext(PowerSupply, properties={"max_voltage": 24.0}) as proxy:
        yield proxy


def test_starts_off_with_zero_current(device):
    assert device.state() == DevState.OFF
    assert device.current == 0.0


def test_on_delivers_current_limited_by_set_point(device):
    device.voltage = 5.0
    device.current_limit = 0.2
    assert device.On() is True
    assert device.state() == DevState.ON
    assert device.current == pytest.approx(0.2, abs=0.01)


def test_over_voltage_faults_and_reset_recovers(device):
    device.voltage = 30.0
    assert device.state() == DevState.FAULT
    assert device.On() is False
    device.Reset()
    assert device.state() == DevState.OFF
