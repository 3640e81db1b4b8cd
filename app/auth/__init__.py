"""Accounts: sign-up, sign-in, sessions, password reset."""
