"""Incidents, KPIs and DORA metrics arrive with the metrics issues."""
