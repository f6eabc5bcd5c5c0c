"""Builders, parsers and harnesses shared by the test modules.

Test modules import from here, never from one another:

- :mod:`helpers.paths`: the repository root, the bundled reference data (``tests/data``) and
  the optional ``../shared`` folder;
- :mod:`helpers.itu`: readers of the ITU-R SG3 validation files (Fryderyk-csv profiles and
  the P.1812 intermediate-term logs);
- :mod:`helpers.scenario`: a tiny hand-built scenario on disk (DEM, population, townships,
  stations, fibre, trails, scenario TOML);
- :mod:`helpers.run_folder`: a tiny ``covkit run`` (+ ``covkit sites``) output folder;
- :mod:`helpers.browser_check`: headless-Chromium inspection of a map page (also runnable by
  hand: ``python tests/helpers/browser_check.py MAP.html [SCREENSHOT.png]``).
"""
