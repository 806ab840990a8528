"use strict";
/* The KPPS's phone: one photo per page, sent with progress, retried by itself when the connection
   drops (the server answers a repeated photo with the record it already has), then followed until read. */
rekap.start(["kpps"], (user) => {
  const tps = user.tps_code;
  const section = document.getElementById("tps");
  const net = document.getElementById("net");
  const cards = new Map([...section.querySelectorAll(".page")].map((c) => [Number(c.dataset.page), c]));
  const pending = new Map(); // page -> {file, attempt, timer}
  section.hidden = false;
  document.querySelector("h1").textContent = `Foto C.Hasil-PPWP TPS ${tps}`;

  for (const [page, card] of cards) {
    card.querySelector("input").addEventListener("change", (ev) => {
      const file = ev.target.files[0];
      ev.target.value = "";
      if (!file) return;
      clearTimeout(pending.get(page)?.timer);
      pending.set(page, { file, attempt: 0 });
      send(page);
    });
  }

  function show(page, text, cls) {
    const status = cards.get(page).querySelector(".state");
    status.textContent = text;
    status.className = `state ${cls || ""}`;
  }

  function send(page) {
    const item = pending.get(page);
    const card = cards.get(page);
    const bar = card.querySelector("progress");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/tps/${tps}/ppwp/photos?page=${page}`);
    for (const [k, v] of Object.entries(rekap.auth())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("Content-Type", item.file.type || "application/octet-stream");
    xhr.timeout = 120000;
    bar.hidden = false;
    bar.value = 0;
    show(page, "Mengunggah…");
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) {
        bar.value = ev.loaded / ev.total;
        show(page, `Mengunggah… ${Math.round((100 * ev.loaded) / ev.total)}%`);
      }
    };
    xhr.onload = async () => {
      if (xhr.status === 200 || xhr.status === 201) {
        pending.delete(page);
        bar.value = 1;
        net.hidden = true;
        show(page, "Terkirim, menunggu dibaca", "ok");
        poll();
        return;
      }
      if (xhr.status === 401) return rekap.expired();
      const temporary = xhr.status === 408 || xhr.status === 429 || xhr.status >= 500;
      if (temporary) return retry(page, Number(xhr.getResponseHeader("Retry-After")) || 0);
      pending.delete(page);
      bar.hidden = true;
      let message = xhr.statusText;
      try { message = JSON.parse(xhr.responseText).message; } catch (e) { /* not JSON: keep the status */ }
      show(page, `Ditolak: ${message}`, "bad");
    };
    xhr.onerror = xhr.ontimeout = () => retry(page, 0);
    xhr.send(item.file);
  }

  function retry(page, after) {
    const item = pending.get(page);
    if (!item) return;
    item.attempt += 1;
    const seconds = Math.max(after, Math.min(30, 2 ** item.attempt));
    net.hidden = false;
    show(page, `Gagal terkirim; dicoba lagi dalam ${seconds} detik (percobaan ${item.attempt})`, "bad");
    item.timer = setTimeout(() => send(page), seconds * 1000);
  }

  window.addEventListener("online", () => {
    for (const [page, item] of pending) {
      clearTimeout(item.timer);
      send(page);
    }
  });

  async function refresh() {
    let status;
    try {
      status = await rekap.api("GET", `/api/v1/tps/${tps}/ppwp`);
    } catch (e) {
      return true;
    }
    for (const p of status.pages) {
      const card = cards.get(p.page);
      if (!pending.has(p.page) && p.state !== "missing") {
        show(p.page, rekap.state(p.state), p.state === "verified" || p.state === "read" ? "ok" : "");
        card.querySelector("progress").hidden = true;
      }
      const retake = card.querySelector(".retake");
      retake.hidden = !p.retake_requested;
      retake.textContent = p.retake_requested ? `Petugas meminta foto ulang: ${p.retake_requested}` : "";
    }
    const waiting = document.getElementById("waiting");
    waiting.replaceChildren(
      ...status.waiting.map((ph) =>
        rekap.el(
          "li",
          { class: ph.state === "retake" ? "bad" : "" },
          `Foto ${rekap.time(ph.uploaded_at)}: ${rekap.state(ph.state)}`,
          ph.retake_message ? ` — ${ph.retake_message}` : "",
        ),
      ),
    );
    const reading = ["received", "reading"];
    return status.pages.some((p) => reading.includes(p.state)) || status.waiting.some((p) => reading.includes(p.state));
  }

  /* Often while a page is being read, seldom otherwise: 800,000 phones polling every few seconds
     would cost the API more than their photos do. */
  let busy = true;
  let timer;
  let round = 0; // a poll started anew (a photo sent, the page shown again) ends the older one's timer
  async function poll() {
    const mine = ++round;
    clearTimeout(timer);
    if (!document.hidden) busy = await refresh();
    if (mine === round) timer = setTimeout(poll, busy || pending.size ? 4000 : 30000);
  }
  poll();
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
});
