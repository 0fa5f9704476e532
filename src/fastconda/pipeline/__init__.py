"""``fastconda build``: takes a source tree, :class:`~fastconda.pipeline.options.BuildOptions` and
explicit channels; gives a tested ``.conda`` in the output channel and a ``BuildResult`` (package,
sha256, seconds per phase). ``build`` dispatches to one route per kind of build, called once:
``recipe_route`` (Python projects, a project's own recipe, CMake servers through the C++ template) or
:mod:`fastconda.cxx.wheel_route` (``--via wheel``). What the routes share sits below them: ``options``
(the options object and the phase clock), ``workdir`` (work folders), ``record`` (build record and skip
cache); ``project`` says what the tree is, ``rules`` applies the facility rules to a recipe, ``ci``
writes a CI pipeline that runs it. Nothing is re-exported: import the module you need.
"""
