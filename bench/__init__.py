"""jukimatch.bench."""
