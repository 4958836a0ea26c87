"""digest: performance figures for elected members, on time, never twice."""

__version__ = "0.1.0"
