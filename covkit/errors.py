"""The one error hierarchy of covkit.

Every problem with user input (files, columns, rows, scenario keys, model parameters) raises
:class:`CovkitInputError`, which subclasses :class:`ValueError`, so callers can catch either.
Messages name the file, the column and the row (or the scenario key) where the problem is.
"""

from __future__ import annotations


class CovkitError(Exception):
    """Root of all covkit errors."""


class CovkitInputError(CovkitError, ValueError):
    """Bad input: a file, column, row, scenario key or parameter value is invalid.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    file : str or path, optional
        The file the problem was found in.
    column : str, optional
        The column (or scenario key) concerned.
    row : int, optional
        The 1-based data row (header excluded) concerned.
    """

    def __init__(self, message: str, *, file=None, column=None, row=None):
        self.file = None if file is None else str(file)
        self.column = column
        self.row = row
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if column is not None:
            where.append(f"column '{column}'")
        if row is not None:
            where.append(f"row {row}")
        full = f"{', '.join(where)}: {message}" if where else message
        super().__init__(full)


class RunTooLargeError(CovkitInputError):
    """A run refused before it starts: its estimated peak memory exceeds the memory available
    (:func:`covkit.coverage.budget.check_budget`). The message states the figures and the
    option that lets the run go ahead (``--allow-large``, ``allow_large=True``).

    Attributes
    ----------
    estimate : covkit.coverage.budget.RunEstimate or None
    available_bytes : float or None
    """

    def __init__(self, message: str, *, file=None, column=None, row=None, estimate=None,
                 available_bytes=None):
        super().__init__(message, file=file, column=column, row=row)
        self.estimate = estimate
        self.available_bytes = available_bytes
