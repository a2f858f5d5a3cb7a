"""Web views of the releases app, one module per area (catalog, dashboard, releases, deployments, gate)."""
