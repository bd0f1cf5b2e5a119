"""workflow's rules, free of frameworks and I/O."""
