"""Where the tests find the repository, the bundled reference data and ``../shared``."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Reference data shipped with the tests (a few cases of each validation set; see SOURCE.md).
DATA_DIR = REPO_ROOT / "tests" / "data"
#: The full validation sets and the Taiwan data, beside the checkout (project CI only).
SHARED_DIR = REPO_ROOT.parent / "shared"
