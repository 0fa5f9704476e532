"""Adapters to the outside tools fastconda drives, one module per tool: the rattler-build engine
(``rattler_build``, whose jobs run in a child process: ``rattler_build_jobs``), rattler environments
(``rattler``), grayskull (``grayskull``) and PEP 517 backends (``pep517``). Each takes paths and
options, gives files or frozen results, turns the tool's exceptions into fastconda's, and is the only
place that knows the tool's quirks. Callers import the module they need (nothing is re-exported
here, so the CLI's lazy imports stay cheap).
"""
