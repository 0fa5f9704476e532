"""C++ Tango servers as CMake projects: takes a CMake (or Pogo) source tree; gives a
``CMakeLists.txt`` (``pogo`` migrates a Pogo project, ``scaffold`` writes a new server,
``cmake`` renders and builds) and, for ``fastconda build``, a tested ``.conda`` through a
rattler-build recipe (``recipe_route``) or a scikit-build-core wheel converted by the wheel fast
path (``wheel_route``), both tested by the same check (``server_check``). Nothing is re-exported: import
the module you need.
"""
