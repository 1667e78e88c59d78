"""Reports over many runs: the report notebook's data, comparisons, tables, schedules, Studio."""
