"""Writes of the appointments app, by section: `booking` (book, move, cancel, confirm, arrive, no-show)."""
