"""Reads C.Hasil photos: image bytes in, typed readings out. Knows nothing of HTTP or SQL (issue 3)."""
