"""Indonesia's administrative hierarchy down to the TPS, as KPU codes it."""
