"""Listing documents: schemas, services, search, API views and pages."""
