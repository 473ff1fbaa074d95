"""baselines package of aufx."""
