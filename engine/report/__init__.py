"""jukimatch.engine.report."""
