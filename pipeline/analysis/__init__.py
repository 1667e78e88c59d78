"""Analysis of a run's timeline: the list-scheduling model, metrics and plots.

Everything here reads a timeline DataFrame (one row per child job) and never asks which
backend produced it.
"""
