"""The sweep: per-account runs that compute, draft, verify and store, plus the schedule."""
