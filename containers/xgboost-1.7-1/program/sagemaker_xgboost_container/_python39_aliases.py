"""Aliases Python 3.10 removed and sagemaker-containers 2.8.6.post2 still uses.

The real image runs Python 3.9, where `collections.Mapping` still exists (deprecated); the toolkit's
_mapping.py subclasses it. The twin runs Python 3.11, so a .pth file in the venv imports this module at
start-up and puts the alias back. Nothing else changes.
"""
import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
