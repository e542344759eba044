"""Integrations with frameworks (optional extras); nothing here is imported by the router itself."""
