"""Pages of the care app, one module per part."""
