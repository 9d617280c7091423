"""poolstream package."""
