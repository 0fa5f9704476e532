"""Testing a built package: takes a ``.conda`` file (or a spec) and explicit channels; gives a
``PackageTestResult`` from installing it into a fresh environment and running its imports,
``pip check``, entry points and the tests it carries (``package``, which learns what the package
installed from ``installed``), and JUnit reports of builds and tests (``junit``). Nothing is
re-exported: import the module you need.
"""
