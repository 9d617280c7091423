"""APScheduler jobs of the batch side: one module each."""
