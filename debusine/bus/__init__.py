"""The ZeroMQ bus between the server and its workers (see PROTOCOL.md)."""
