"""Readers of the ITU-R SG3 validation files (ITU-R P.1812 profiles and logs)."""

from __future__ import annotations

import numpy as np


def parse_fryderyk(path):
    """Header dict, profile array (d, h, coverage code, R, zone) and measurement rows."""
    header, profile, meas = {}, [], []
    mode = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("{Begin of Profile"):
            mode = "profile"
        elif line.startswith("{End of Profile"):
            mode = None
        elif line.startswith("{Begin of Measurements"):
            mode = "meas"
        elif line.startswith("{End of Measurements"):
            mode = None
        elif mode == "profile":
            if not line.startswith("Number of Points"):
                profile.append([float(x) for x in line.split(",")[:5]])
        elif mode == "meas":
            meas.append(line.split(","))
        else:
            parts = line.split(",")
            if len(parts) >= 2:
                header[parts[0].strip()] = parts[1].strip()
    return header, np.array(profile), meas


def parse_log(path):
    """{(name, reference): value} of a validation log."""
    values = {}
    for raw in path.read_text().splitlines():
        parts = raw.split(",")
        if len(parts) < 4 or not parts[0].strip() or parts[0].startswith("#") or not parts[3]:
            continue
        values[(parts[0].split(" (")[0].strip(), parts[1].strip())] = float(parts[3])
    return values
