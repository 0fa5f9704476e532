"""Offline seed channels: takes a profile (``recipe_templates/seed/profiles.toml``) and the settings;
gives a local channel made from the host Python (``hostpython``), PyPI wheels (``wheelcache``)
and, for the ``cxx`` profile, the host compilers and Debian's Tango C++ packages (``cxx_profile``,
``debs``). ``bootstrap`` runs a profile and writes the channel through
:mod:`fastconda.channel.local`. Nothing is re-exported: import the module you need.
"""
