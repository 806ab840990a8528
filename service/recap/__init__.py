"""Totals and progress per region, kept up to date from TPS changes; rebuilt from scratch on demand."""
