"""File changes: planned, applied all-or-nothing through a journal, then verified."""
