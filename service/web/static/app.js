"use strict";
/* What every signed-in page shares: the session, the JSON API with the user's token, the login form,
   logging out. The token lives in this tab's sessionStorage (why: service/http/headers.py). */
const rekap = (() => {
  const KEY = "rekap.session";
  const NOTICE = "rekap.notice"; // said on the login form after the reload that follows leaving
  const EXPIRED = "Sesi Anda sudah berakhir. Silakan masuk lagi.";
  const labels = JSON.parse(document.getElementById("labels").textContent);
  const PREFIX = {
    400: "Isian tidak valid", 401: "Silakan masuk lagi", 403: "Di luar wewenang atau wilayah Anda",
    404: "Tidak ditemukan", 409: "Belum dapat dilakukan", 429: "Terlalu banyak percobaan",
    503: "Server sibuk, coba lagi sebentar lagi", 507: "Penyimpanan server penuh, coba lagi nanti",
  };
  let session = JSON.parse(sessionStorage.getItem(KEY) || "null");
  const leaving = []; // what a page does before its user logs out (tinjau.js releases its TPS)

  class ApiError extends Error {
    constructor(status, message, retryAfter) {
      super(status in PREFIX ? `${PREFIX[status]}: ${message}` : message);
      this.status = status;
      this.retryAfter = Number(retryAfter) || 0;
    }
  }

  function auth() {
    return session ? { Authorization: `Bearer ${session.token}` } : {};
  }

  async function api(method, path, body) {
    const headers = auth();
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body: payload });
    } catch (e) {
      throw new ApiError(0, "Tidak ada koneksi ke server. Periksa sinyal lalu coba lagi.");
    }
    return answer(res);
  }

  async function answer(res) {
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!res.ok) {
      if (res.status === 401 && session) expired();
      throw new ApiError(res.status, (json && json.message) || res.statusText, res.headers.get("Retry-After"));
    }
    return json;
  }

  /* An image the API serves only to a signed-in user, as an address an <img> can show. */
  async function image(path) {
    const res = await fetch(path, { headers: auth() });
    if (!res.ok) return answer(res);
    return URL.createObjectURL(await res.blob());
  }

  function forget() {
    session = null;
    sessionStorage.removeItem(KEY);
  }

  /* Back to the login form, saying why; the reload stops the page's polling and timers. */
  function leave(notice) {
    forget();
    sessionStorage.setItem(NOTICE, notice);
    location.reload();
  }

  /* The server no longer knows the token (it expired, or the session was ended elsewhere). */
  function expired() {
    leave(EXPIRED);
  }

  /* "Keluar": the server ends the session, then this tab forgets the token. */
  async function logout() {
    for (const hook of leaving) {
      try { await hook(); } catch (e) { /* the session ends anyway */ }
    }
    let ended;
    try {
      const res = await fetch("/api/v1/auth/logout", { method: "POST", headers: auth() });
      ended = res.status === 204 || res.status === 401; // 401: the session had already ended
    } catch (e) {
      ended = false;
    }
    const until = session ? time(session.expires_at) : "";
    leave(ended ? "Anda sudah keluar." :
      `Anda keluar dari perangkat ini, tetapi server tidak terjangkau: sesi berakhir sendiri pukul ${until}.`);
  }

  async function login(username, password) {
    const res = await api("POST", "/api/v1/auth/login", { username, password });
    session = { token: res.token, expires_at: res.expires_at, user: res.user };
    sessionStorage.setItem(KEY, JSON.stringify(session));
  }

  /* Shows the login form until the user is signed in (a link's #u=...&p=... signs in at once). */
  function start(roles, onReady) {
    const form = document.getElementById("login");
    const who = document.getElementById("who");
    const error = form.querySelector(".error");
    const notice = form.querySelector(".notice");
    notice.textContent = sessionStorage.getItem(NOTICE) || "";
    notice.hidden = !notice.textContent;
    sessionStorage.removeItem(NOTICE);
    const ready = () => {
      if (!roles.includes(session.user.role)) {
        fetch("/api/v1/auth/logout", { method: "POST", headers: auth() }).catch(() => {}); // unused here
        forget();
        form.hidden = false;
        error.textContent = "Halaman ini bukan untuk akun tersebut.";
        return;
      }
      form.hidden = true;
      who.hidden = false;
      who.querySelector("span").textContent = `Masuk sebagai ${session.user.display_name}`;
      onReady(session.user);
    };
    const submit = async (username, password) => {
      error.textContent = "";
      notice.hidden = true;
      try {
        await login(username, password);
        ready();
      } catch (e) {
        form.hidden = false;
        error.textContent = e.message;
      }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit(form.username.value.trim(), form.password.value);
    });
    const out = document.getElementById("logout");
    out.addEventListener("click", () => {
      out.disabled = true;
      logout();
    });
    const link = new URLSearchParams(location.hash.slice(1));
    if (link.get("u") && link.get("p")) {
      history.replaceState(null, "", location.pathname); // the password does not stay in the address bar
      submit(link.get("u"), link.get("p"));
    } else if (session && new Date(session.expires_at) > new Date()) {
      ready();
    } else {
      if (session) {
        notice.textContent = EXPIRED;
        notice.hidden = false;
      }
      forget();
      form.hidden = false;
    }
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  const state = (s) => labels.state[s] || s;
  const field = (f) => labels.field[f] || f;
  /* Times in WIB, the zone written, wherever the phone or laptop thinks it is. */
  const time = (iso) =>
    `${new Date(iso).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Jakarta" })} WIB`;

  return {
    api, answer, auth, image, start, el, state, field, time, expired, ApiError,
    session: () => session,
    onLogout: (hook) => leaving.push(hook),
  };
})();
