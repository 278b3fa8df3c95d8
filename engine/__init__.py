"""jukimatch.engine."""
