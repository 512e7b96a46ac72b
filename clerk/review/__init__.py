"""Review: reviewers, their decisions on drafts, and what counts as the current proof."""
