"""notify's tables, repositories and clients of the outside world."""
