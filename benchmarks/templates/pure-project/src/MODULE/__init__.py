"""$name: a small command-line tool (synthetic benchmark project $number)."""

import argparse

import packaging.version

__version__ = "1.0.$number"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="$name", description=__doc__)
    parser.add_argument("values", nargs="*", type=float)
    args = parser.parse_args(argv)
    print(packaging.version.Version(__version__), sum(args.values))
    return 0
