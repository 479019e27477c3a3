"""The JSON API, wire-compatible with the Debusine client protocol."""
