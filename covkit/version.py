"""The covkit version (one place; ``covkit.__version__`` and every output read it)."""

__version__ = "0.1.0"
