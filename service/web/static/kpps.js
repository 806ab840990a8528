"use strict";
/* The KPPS's phone: one photo per page, made smaller on the phone, kept in IndexedDB until the
   server confirms it (a reload, a closed tab or a restarted phone loses nothing), sent with
   progress and retried by itself when the connection drops (the server answers a repeated photo
   with the record it already has: a photo arrives once), then followed until its numbers are
   published. The page itself opens without a signal (sw.js). */
const outbox = (() => {
  const open = () => new Promise((resolve, reject) => {
    const req = indexedDB.open("rekap-kpps", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const run = async (mode, work) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("outbox", mode);
      const req = work(tx.objectStore("outbox"));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  };
  return {
    all: () => run("readonly", (s) => s.getAll()),
    add: (item) => run("readwrite", (s) => s.add(item)),
    remove: (id) => run("readwrite", (s) => s.delete(id)),
  };
})();

/* Measured on the 60 labelled real photos (1777 px long, 0.84 MB on average): made 2000 px long at
   most and JPEG quality 0.85 they weigh 0.22 MB and read exactly as the originals (every field
   right, auto-publish 0.75, 0 wrong); at 1600 px 0.18 MB, but auto-publish falls to 0.70. */
const LONG_SIDE = 2000;
const QUALITY = 0.85;

async function smaller(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.type === "image/jpeg" && file.size < 300_000) return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    return blob && blob.size < file.size ? blob : file;
  } catch (e) {
    return file; // not an image the phone can decode: the server says why
  }
}

if ("serviceWorker" in navigator) {
  /* The pages allow no string as a script address (Trusted Types): this policy allows one. */
  const policy = window.trustedTypes
    ? trustedTypes.createPolicy("rekap-sw", {
      createScriptURL: (url) => { if (url !== "/sw.js") throw new TypeError(url); return url; },
    })
    : { createScriptURL: (url) => url };
  navigator.serviceWorker.register(policy.createScriptURL("/sw.js"), { scope: "/" }).catch(() => {});
}

/* Said before login too: photos taken offline wait here, even after the tab was closed. */
const waitingNote = document.getElementById("outbox");
async function countOutbox() {
  const items = await outbox.all().catch(() => []);
  waitingNote.hidden = items.length === 0;
  waitingNote.textContent = items.length
    ? `${items.length} foto tersimpan di ponsel ini, menunggu dikirim. Foto dikirim otomatis saat ada sinyal dan Anda sudah masuk.`
    : "";
  return items;
}
countOutbox();

rekap.start(["kpps"], async (user) => {
  const tps = user.tps_code;
  const section = document.getElementById("tps");
  const net = document.getElementById("net");
  const cards = new Map([...section.querySelectorAll(".page")].map((c) => [Number(c.dataset.page), c]));
  const pending = new Map(); // page -> {id, blob, attempt, timer}
  section.hidden = false;
  document.querySelector("h1").textContent = `Foto C.Hasil-PPWP TPS ${tps}`;

  for (const [page, card] of cards) {
    card.querySelector("input").addEventListener("change", async (ev) => {
      const file = ev.target.files[0];
      ev.target.value = "";
      if (!file) return;
      show(page, "Menyiapkan foto…");
      const blob = await smaller(file);
      const old = pending.get(page);
      if (old) {
        clearTimeout(old.timer);
        await outbox.remove(old.id).catch(() => {});
      }
      const id = await outbox.add({ tps, page, blob, type: blob.type || file.type, at: Date.now() });
      pending.set(page, { id, blob, type: blob.type || file.type, attempt: 0 });
      countOutbox();
      send(page);
    });
  }

  function show(page, text, cls) {
    const status = cards.get(page).querySelector(".state");
    status.textContent = text;
    status.className = `state ${cls || ""}`;
  }

  async function settled(page) {
    const item = pending.get(page);
    pending.delete(page);
    if (item) await outbox.remove(item.id).catch(() => {});
    countOutbox();
  }

  function send(page) {
    const item = pending.get(page);
    if (!item) return;
    const card = cards.get(page);
    const bar = card.querySelector("progress");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/tps/${tps}/ppwp/photos?page=${page}`);
    for (const [k, v] of Object.entries(rekap.auth())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", item.type || "application/octet-stream");
    xhr.timeout = 120000;
    bar.hidden = false;
    bar.value = 0;
    show(page, `Mengunggah ${Math.round(item.blob.size / 1000)} KB…`);
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) {
        bar.value = ev.loaded / ev.total;
        show(page, `Mengunggah… ${Math.round((100 * ev.loaded) / ev.total)}%`);
      }
    };
    xhr.onload = async () => {
      if (xhr.status === 200 || xhr.status === 201) {
        await settled(page);
        bar.value = 1;
        net.hidden = true;
        show(page, xhr.status === 200 ? "Foto ini sudah pernah dikirim; tidak dikirim dua kali" : "Terkirim, menunggu dibaca", "ok");
        poll();
        return;
      }
      if (xhr.status === 401) return rekap.expired();
      const temporary = xhr.status === 408 || xhr.status === 429 || xhr.status >= 500;
      if (temporary) return retry(page, Number(xhr.getResponseHeader("Retry-After")) || 0);
      await settled(page);
      bar.hidden = true;
      let message = xhr.statusText;
      try { message = JSON.parse(xhr.responseText).message; } catch (e) { /* not JSON: keep the status */ }
      show(page, `Ditolak: ${message}`, "bad");
    };
    xhr.onerror = xhr.ontimeout = () => retry(page, 0);
    xhr.send(item.blob);
  }

  function retry(page, after) {
    const item = pending.get(page);
    if (!item) return;
    item.attempt += 1;
    const seconds = Math.max(after, Math.min(30, 2 ** item.attempt));
    net.hidden = false;
    show(page, `Gagal terkirim; foto disimpan di ponsel dan dicoba lagi dalam ${seconds} detik (percobaan ${item.attempt})`, "bad");
    item.timer = setTimeout(() => send(page), seconds * 1000);
  }

  window.addEventListener("online", () => {
    for (const [page, item] of pending) {
      clearTimeout(item.timer);
      send(page);
    }
  });

  /* What was read, page by page in the form's order, for the KPPS to check against the paper;
     "salah?" on a number tells the officers which one differs from the paper. */
  function numbers(card, fields, flagged) {
    const list = card.querySelector(".read");
    const names = Object.keys(fields);
    list.hidden = names.length === 0;
    list.replaceChildren(...names.map((name) => {
      const f = fields[name];
      const value = f.value === null ? "tidak terbaca" : String(f.value);
      const report = flagged.includes(name)
        ? rekap.el("small", {}, "dilaporkan ke petugas")
        : rekap.el("button", { type: "button", class: "link", "data-wrong": name }, "angka ini salah");
      return rekap.el("tr", { class: f.accepted ? "" : "flagged", "data-field": name },
        rekap.el("th", {}, rekap.field(name)),
        rekap.el("td", { class: "n" }, f.accepted ? value : `${value} (diperiksa petugas)`),
        rekap.el("td", {}, report));
    }));
  }
  section.addEventListener("click", async (ev) => {
    const name = ev.target.dataset && ev.target.dataset.wrong;
    if (!name) return;
    ev.target.disabled = true;
    try {
      await rekap.api("POST", `/api/v1/tps/${tps}/ppwp/flags`, { field: name, note: "" });
      ev.target.replaceWith(rekap.el("small", {}, "dilaporkan ke petugas"));
    } catch (e) {
      ev.target.disabled = false;
      ev.target.textContent = e.message;
    }
  });

  const GOOD = new Set(["published", "verified", "read"]);
  async function refresh() {
    let status;
    try {
      status = await rekap.api("GET", `/api/v1/tps/${tps}/ppwp`);
    } catch (e) {
      return true;
    }
    const refused = new Map(
      status.waiting.filter((ph) => ph.state === "retake" && ph.page_hint).map((ph) => [ph.page_hint, ph]),
    );
    for (const p of status.pages) {
      const card = cards.get(p.page);
      if (!pending.has(p.page) && p.state !== "missing") {
        show(p.page, rekap.state(p.state), GOOD.has(p.state) ? "ok" : "");
        card.querySelector("progress").hidden = true;
      }
      numbers(card, p.fields || {}, status.flagged || []);
      const retake = card.querySelector(".retake");
      const photo = refused.get(p.page);
      const text = p.retake_requested
        ? `Petugas meminta foto ulang: ${p.retake_requested}`
        : photo ? `Foto ${rekap.time(photo.uploaded_at)} ditolak: ${photo.retake_message || rekap.state(photo.state)}` : "";
      retake.hidden = !text;
      retake.textContent = text;
      if (photo && !pending.has(p.page)) show(p.page, rekap.state("retake"), "bad");
    }
    document.getElementById("waiting").replaceChildren(
      ...status.waiting.filter((ph) => !(ph.state === "retake" && ph.page_hint)).map((ph) =>
        rekap.el(
          "li",
          { class: ph.state === "retake" ? "bad" : "" },
          `Foto ${rekap.time(ph.uploaded_at)}: ${rekap.state(ph.state)}`,
          ph.retake_message ? ` — ${ph.retake_message}` : "",
        ),
      ),
    );
    const reading = ["received", "reading"];
    const deciding = ["read", "verified", "needs_review", "reviewed", "new_photo"];
    return status.pages.some((p) => reading.includes(p.state) || deciding.includes(p.state)) ||
      status.waiting.some((p) => reading.includes(p.state));
  }

  /* Every 2 s while a page is being read or an officer's decision is awaited (it shows on the phone
     within 2 s), every 30 s otherwise: 800,000 phones polling every few seconds would cost the API
     more than their photos do. */
  let busy = true;
  let timer;
  let round = 0; // a poll started anew (a photo sent, the page shown again) ends the older one's timer
  async function poll() {
    const mine = ++round;
    clearTimeout(timer);
    if (!document.hidden) busy = await refresh();
    if (mine === round) timer = setTimeout(poll, busy || pending.size ? 2000 : 30000);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

  /* Photos kept from before (a reload, a closed tab, a restarted phone) go first. */
  for (const item of await countOutbox()) {
    if (item.tps !== tps) continue;
    if (pending.has(item.page)) await outbox.remove(pending.get(item.page).id).catch(() => {});
    pending.set(item.page, { id: item.id, blob: item.blob, type: item.type, attempt: 0 });
  }
  for (const page of pending.keys()) send(page);
  poll();
});
