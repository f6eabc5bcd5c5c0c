"""Path-loss models and the terrain-aware radial engine (pure Numba kernels, arrays in/out)."""
