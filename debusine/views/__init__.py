"""Views: the JSON API under /api/ and the htmx pages."""
