"""jukimatch.engine.link."""
