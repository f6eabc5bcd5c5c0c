"""covkit: 5G and broadband coverage analysis.

Numba path-loss engine (``covkit.propagation``), coverage over population grids
(``covkit.coverage``), validated data loaders (``covkit.data``) and a CLI (``covkit.cli``).
"""

__version__ = "0.1.0"
