"""Workflow: officers' state machine, working-day deadline engine, official forms, timers."""
