"""Intake: procedure catalogue, citizen accounts, dossier submission, tracking, supplements."""
