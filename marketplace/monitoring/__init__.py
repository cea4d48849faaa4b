"""Health, sync status and the watch over origins: what operators look at."""
