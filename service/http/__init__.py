"""HTTP adapter: the Litestar application, its dependencies and the one error mapping."""
