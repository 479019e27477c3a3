"""The `debusine` command-line client (speaks the JSON API)."""
