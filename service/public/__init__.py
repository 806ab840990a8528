"""The public results: what media and the public read, published numbers only, served from cache."""
