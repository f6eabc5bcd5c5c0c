"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.paths import shared_dir_or_skip, validation_root


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path to ../shared (validation vectors, Taiwan data); skips when the clone lacks it."""
    return shared_dir_or_skip()


@pytest.fixture(scope="session")
def validation_dir(request) -> Path:
    """Root of the validation vectors, chosen by indirect parametrization with ``"data"``
    (tests/data: a few cases of each set, in every clone) or ``"shared"`` (../shared/validation:
    the full sets; skips when absent)."""
    return validation_root(request.param)
