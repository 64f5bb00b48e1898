"""The pytest-free engine: plan the run, fetch its evidence, judge it, and decide the verdict.

See ``docs/architecture.md`` for the layers. The pytest plugin is one runner over this package.
"""
