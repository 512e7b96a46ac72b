"""Evals: a data generator with planted truth, the scorer, the naive-RAG baseline, benchmarks."""
