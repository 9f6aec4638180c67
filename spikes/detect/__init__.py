"""Detection: seasonal baseline, noise model, detectors, incidents, events, the pipeline."""
