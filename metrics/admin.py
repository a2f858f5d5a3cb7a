"""Admin registrations of the metrics app (read-mostly; pages are the way to work)."""
