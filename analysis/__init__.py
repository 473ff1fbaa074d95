"""analysis package of aufx."""
