"""The orchestration loop's jobs: expiry now; scheduling and workflows later."""
