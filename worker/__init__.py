"""debusine-worker: the external worker daemon, its executors and worker tasks."""
