"""Custom checkov checks for Lab 06 (checkov loads a directory only when it has this file)."""
