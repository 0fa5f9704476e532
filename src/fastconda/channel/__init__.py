"""Channels: takes built ``.conda`` files; gives a local channel with them added and indexed,
atomically and safely under concurrent writers (``local``, which has ``index`` write each subdir's
``repodata.json``), or publishes them to a local folder or a Quetz server, all or nothing
(``publish``). Nothing is re-exported: import the module you need.
"""
