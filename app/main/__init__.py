"""Home, explore, search and profile pages, and the health check."""
