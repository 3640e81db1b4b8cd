"""Admin actions on accounts."""
