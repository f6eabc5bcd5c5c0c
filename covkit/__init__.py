"""covkit: 5G and broadband coverage analysis.

The front door. A study reads a scenario (TOML file, dict or in-memory inputs), computes
coverage and regulator KPIs, proposes sites and returns results in the geo-Python ecosystem's
own types::

    import covkit

    scenario = covkit.load_scenario("scenario.toml")
    result = covkit.run(scenario)                  # CoverageResult
    ds = result.to_xarray()                        # xarray.Dataset with x/y and a CRS
    ds.rsrp_best_dbm.rio.to_raster("rsrp.tif")
    result.townships                               # GeoDataFrame: every KPI column + geometry
    proposal = covkit.propose_sites(result, budget_sites=10)
    covkit.coverage_map(result, proposal)          # folium.Map

=====================  ==========================================================================
name                   what
=====================  ==========================================================================
``load_scenario``      read and validate a scenario TOML file -> :class:`Scenario`
``Scenario``           validated scenario; ``Scenario.from_dict({...})`` builds one in memory
``load_inputs``        read, validate and grid every input (paths or in-memory objects)
``Inputs``             the loaded inputs of a scenario
``run``                coverage layers and KPIs -> :class:`CoverageResult`
``CoverageResult``     rasters (``to_xarray()``), ``townships`` GeoDataFrame, ``summary``, ``write``
``propose_sites``      site proposals for the gaps -> :class:`SiteProposal`
``SiteProposal``       ranked sites (GeoDataFrame), KPIs after, optimiser figures, ``write``
``run_study``          the whole pipeline into one folder (coverage, sites, map, report)
``path_loss``          basic transmission loss of a single link (any model)
``coverage_map``       folium.Map of a result, built in memory (renders offline)
``verify``             predicted vs measured test points: error statistics, map reliability
``write_map``          map.html of a run folder
``write_report``       report.html / report.md of a run folder
``write_demo``         the synthetic demo scenario's files
``CovkitError``        root of covkit's errors; ``CovkitInputError`` (also a ValueError) for input
=====================  ==========================================================================

The names load on first use, so ``import covkit`` (and ``covkit --help``) stays fast; the
lower layers (``covkit.propagation`` kernels, ``covkit.data`` loaders, ``covkit.coverage``
steps) are importable on their own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from covkit.errors import CovkitError, CovkitInputError
from covkit.version import __version__

_LAZY = {
    "Scenario": "covkit.config",
    "load_scenario": "covkit.config",
    "Inputs": "covkit.data.inputs",
    "load_inputs": "covkit.data.inputs",
    "CoverageResult": "covkit.coverage.result",
    "SiteProposal": "covkit.coverage.sites",
    "run": "covkit.api",
    "propose_sites": "covkit.api",
    "run_study": "covkit.api",
    "path_loss": "covkit.links",
    "coverage_map": "covkit.api",
    "verify": "covkit.api",
    "write_map": "covkit.maps",
    "write_report": "covkit.report",
    "write_demo": "covkit.data.demo",
}

__all__ = [
    "CoverageResult",
    "CovkitError",
    "CovkitInputError",
    "Inputs",
    "Scenario",
    "SiteProposal",
    "__version__",
    "coverage_map",
    "load_inputs",
    "load_scenario",
    "path_loss",
    "propose_sites",
    "run",
    "run_study",
    "verify",
    "write_demo",
    "write_map",
    "write_report",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from covkit.api import coverage_map, propose_sites, run, run_study, verify
    from covkit.config import Scenario, load_scenario
    from covkit.coverage.result import CoverageResult
    from covkit.coverage.sites import SiteProposal
    from covkit.data.demo import write_demo
    from covkit.data.inputs import Inputs, load_inputs
    from covkit.links import path_loss
    from covkit.maps import write_map
    from covkit.report import write_report


_SUBMODULES = ("api", "config", "coverage", "data", "maps", "parameters", "propagation",
               "report", "runfolder")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"covkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'covkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
