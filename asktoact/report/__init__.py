"""Reports: tables of our runs beside the papers' numbers."""
