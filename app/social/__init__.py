"""Follows, likes, comments, saved collections, notifications, profiles."""
