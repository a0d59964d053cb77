"""Contribution rules as data: dated parameters by territory, each with its legal source."""
