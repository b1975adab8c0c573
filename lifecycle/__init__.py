"""Instructor commands over nbgrader: release, status, and speed tests run in a lecture."""
