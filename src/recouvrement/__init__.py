"""recouvrement: one account per contributor, from declaration to the funds the money belongs to."""

__version__ = "0.1.0"
