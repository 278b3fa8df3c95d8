"""jukimatch.api."""
