"""A printable sheet of KPPS credentials: one card per TPS, with a QR code that opens the phone
page already filled in (the secret travels in the URL's fragment, which browsers never send)."""

from __future__ import annotations

import html
from urllib.parse import quote

import segno

from service.users.model import IssuedCredential


def login_link(base_url: str, username: str, secret: str) -> str:
    return f"{base_url.rstrip('/')}/kpps#u={quote(username)}&p={quote(secret)}"


def render(issued: list[IssuedCredential], base_url: str) -> str:
    cards = []
    for credential in issued:
        user = credential.user
        link = login_link(base_url, user.username, credential.secret)
        qr = segno.make(link, error="m").svg_inline(scale=3, omitsize=False)
        cards.append(
            f"""<section class="card">
  <h2>{html.escape(user.display_name)}</h2>
  <p>TPS <b>{html.escape(user.tps_code or "")}</b></p>
  {qr}
  <p>Nama pengguna: <code>{html.escape(user.username)}</code><br>
     Kata sandi: <code>{html.escape(credential.secret)}</code></p>
  <p class="small">Pindai kode QR dengan kamera ponsel, atau buka {html.escape(base_url)}/kpps
     dan ketik nama pengguna dan kata sandi. Simpan lembar ini; jangan dibagikan.</p>
</section>"""
        )
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Akun KPPS rekap</title>
<style>
body {{ font-family: sans-serif; margin: 1cm; }}
.card {{ border: 1px dashed #555; padding: 0.5cm; margin: 0 0 0.5cm; page-break-inside: avoid;
         display: inline-block; width: 8.5cm; vertical-align: top; }}
h2 {{ font-size: 1.1em; margin: 0 0 0.2em; }} .small {{ font-size: 0.8em; }}
code {{ font-size: 1.1em; }}
</style></head><body>
{"".join(cards)}
</body></html>
"""
