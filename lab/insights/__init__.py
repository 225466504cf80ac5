"""Benchmarks and reports for the CRM's insights."""
