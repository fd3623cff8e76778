"""The analytics computed from the lake: credit and behaviour sequences (see each package)."""
