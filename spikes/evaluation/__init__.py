"""Evaluation: scoring against labels, the NAB scorer, simulated data, threshold tuning."""
