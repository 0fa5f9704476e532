"""PowerSupply Tango device server."""

__version__ = "1.2.0"
