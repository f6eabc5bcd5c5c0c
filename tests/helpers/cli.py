"""Running the command line in the test process."""

from __future__ import annotations

from covkit.cli import main


def exit_code(argv: list[str]) -> int:
    """``covkit ARGV`` in this process (:func:`covkit.cli.main`): its exit code."""
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code or 0
    return 0
