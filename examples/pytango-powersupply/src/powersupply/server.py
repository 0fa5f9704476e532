"""The PowerSupply device: set-points, a measured current, an output switch and a fault state."""

from __future__ import annotations

import numpy as np
from tango import AttrWriteType, DevState
from tango.server import Device, attribute, command, device_property, run


class PowerSupply(Device):
    """A DC power supply with voltage and current limits."""

    max_voltage = device_property(dtype=float, default_value=30.0)

    def init_device(self) -> None:
        super().init_device()
        self._voltage = 0.0
        self._current_limit = 1.0
        self._rng = np.random.default_rng(seed=7)
        self.set_state(DevState.OFF)
        self.set_status("Output is off")

    @attribute(dtype=float, unit="V", access=AttrWriteType.READ_WRITE, min_value=0.0, label="Voltage")
    def voltage(self) -> float:
        return self._voltage

    @voltage.write
    def voltage(self, value: float) -> None:
        if value > self.max_voltage:
            self.set_state(DevState.FAULT)
            self.set_status(f"Voltage {value} V exceeds the limit of {self.max_voltage} V")
            return
        self._voltage = value

    @attribute(dtype=float, unit="A", access=AttrWriteType.READ_WRITE, min_value=0.0)
    def current_limit(self) -> float:
        return self._current_limit

    @current_limit.write
    def current_limit(self, value: float) -> None:
        self._current_limit = value

    @attribute(dtype=float, unit="A", label="Measured current")
    def current(self) -> float:
        if self.get_state() != DevState.ON:
            return 0.0
        load_ohm = 10.0
        noise = float(self._rng.normal(0.0, 0.001))
        return min(self._voltage / load_ohm, self._current_limit) + noise

    @command(dtype_out=bool)
    def On(self) -> bool:  # noqa: N802 - Tango command names are CamelCase
        if self.get_state() == DevState.FAULT:
            return False
        self.set_state(DevState.ON)
        self.set_status("Output is on")
        return True

    @command
    def Off(self) -> None:  # noqa: N802
        self.set_state(DevState.OFF)
        self.set_status("Output is off")

    @command
    def Reset(self) -> None:  # noqa: N802
        self._voltage = 0.0
        self.set_state(DevState.OFF)
        self.set_status("Reset: output is off")


def main(args: list[str] | None = None) -> None:
    run((PowerSupply,), args=args)


if __name__ == "__main__":
    main()
