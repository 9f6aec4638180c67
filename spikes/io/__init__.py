"""Input and output: reading report CSVs, bucketing them into counts, writing results."""
