"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.paths import SHARED_DIR


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path to ../shared (validation vectors, Taiwan data); skips when the clone lacks it."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared not found at {SHARED_DIR}: the validation vectors and Taiwan "
                    "data come with the project CI, not with a plain clone")
    return SHARED_DIR
