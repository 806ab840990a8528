"""People who act in rekap (KPPS, recap officers, administrators), their credentials and scopes."""
