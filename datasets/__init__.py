"""jukimatch.datasets."""
