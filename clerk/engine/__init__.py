"""The evidence engine: metrics in SQL, calculations, verification and gap rules."""
