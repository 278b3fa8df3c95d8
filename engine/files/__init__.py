"""jukimatch.engine.files."""
