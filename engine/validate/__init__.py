"""jukimatch.engine.validate."""
