"""jukimatch.engine.reconcile."""
