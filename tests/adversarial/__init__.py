"""Regression tests for the adversarial review (issue 13): hostile input, shared channels, credentials."""
