"""hover: versatile whole-body control for humanoid robots (HOVER, arXiv 2410.21229)."""

__version__ = "0.1.0"
