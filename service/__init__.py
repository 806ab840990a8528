"""rekap's service: the domain core (regions, elections, users, later rules and recap) and its adapters."""
