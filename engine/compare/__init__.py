"""jukimatch.engine.compare."""
