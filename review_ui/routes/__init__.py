"""Routes, split by noun: auth, accounts, items, gaps, manager, packets, and the JSON api."""
