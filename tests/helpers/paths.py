"""Where the tests find the repository, the bundled reference data and ``../shared``."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Reference data shipped with the tests: a few cases of each validation set, in the layout of
#: ``../shared/validation`` (origin and the cases taken: ``tests/data/SOURCE.md``).
DATA_DIR = REPO_ROOT / "tests" / "data"
#: The full validation sets and the Taiwan data, beside the checkout (project CI only).
SHARED_DIR = REPO_ROOT.parent / "shared"
#: The two roots of the validation vectors: ``"data"`` (tests/data, in every clone) and
#: ``"shared"`` (../shared/validation, the full sets).
VALIDATION_SOURCES = ("data", "shared")


def shared_dir_or_skip() -> Path:
    """``../shared``, or skip the calling test with the reason when the clone lacks it."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared not found at {SHARED_DIR}: the validation vectors and Taiwan "
                    "data come with the project CI, not with a plain clone")
    return SHARED_DIR


def validation_root(source: str) -> Path:
    """Root folder of the validation vectors of ``source`` (one of :data:`VALIDATION_SOURCES`);
    ``"shared"`` skips the calling test when ``../shared`` is absent."""
    if source == "data":
        return DATA_DIR
    if source == "shared":
        return shared_dir_or_skip() / "validation"
    raise ValueError(f"unknown validation source {source!r}; choose one of {VALIDATION_SOURCES}")
