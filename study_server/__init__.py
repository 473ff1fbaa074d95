"""study_server package of aufx."""
