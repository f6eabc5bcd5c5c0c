"""Loaders that read, validate and normalise input files onto the analysis grid."""
