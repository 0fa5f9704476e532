"""``fastconda build``: takes a source tree, :class:`~fastconda.pipeline.build.BuildOptions` and
explicit channels; gives a tested ``.conda`` in the output channel and a ``BuildResult`` (package,
sha256, seconds per phase). ``project`` says what the tree is, ``rules`` applies the facility
rules to a recipe, ``build`` dispatches the routes and keeps the build record and skip cache;
``ci`` writes a CI pipeline that runs it. Nothing is re-exported: import the module you need.
"""
