"""Stats: the official processing report, indicators, public lists, metrics."""
