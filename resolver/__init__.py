"""zonesolve: joint dependency resolution for illumos / Solaris zones."""

__version__ = "0.1.0"
