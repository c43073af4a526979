"""The care pages, one module per part."""
