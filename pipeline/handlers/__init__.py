"""Lambda entry points: thin adapters from events to plain functions."""
