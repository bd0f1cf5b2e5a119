"""stats's rules, free of frameworks and I/O."""
