"""jukimatch.sim."""
