"""The htmx pages."""
