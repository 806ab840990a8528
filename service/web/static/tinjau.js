"use strict";
/* The review screen: the photo (zoomable) beside each field's crop and number; confirm, correct
   (a second officer approves), approve or reject another's correction, take or set aside a new
   photo's reading, or ask for a new photo. Looking claims nothing: "Tinjau" does. */
rekap.start(["officer", "admin"], async (user) => {
  const code = document.getElementById("code").textContent;
  const section = document.getElementById("review");
  const form = document.getElementById("decide");
  const notice = section.querySelector(".claim");
  const error = form.querySelector(".error");
  const frame = section.querySelector(".frame");
  const img = frame.querySelector("img");
  const said = form.querySelector(".said");
  const begin = section.querySelector(".begin");
  const fresh = section.querySelector(".newreading");
  let holding = false;
  let decided = false;
  let zoom = 1;
  section.hidden = false;
  /* Acting needs the claim: until "Tinjau", the numbers are shown but nothing can be sent. */
  const actable = (on) => {
    holding = on;
    form.querySelectorAll("button, textarea, select").forEach((n) => { n.disabled = !on; });
    fresh.querySelectorAll("button").forEach((n) => { n.disabled = !on; });
    section.querySelectorAll(".kppsflags button").forEach((n) => { n.disabled = !on; });
  };
  const release = () => fetch(`/api/v1/review/${code}/claim`, { method: "DELETE", headers: rekap.auth(), keepalive: true });
  window.addEventListener("pagehide", () => { if (holding && !decided) release(); });
  rekap.onLogout(async () => {
    if (!holding || decided) return;
    decided = true;
    await release();
  });
  section.querySelector("#take").addEventListener("click", async () => {
    try {
      const claim = await rekap.api("POST", `/api/v1/review/${code}/claim`, {});
      notice.classList.remove("bad");
      notice.textContent = `TPS ini Anda pegang sampai ${rekap.time(claim.expires_at)}; petugas lain tidak dapat mengubahnya.`;
      begin.hidden = true;
      actable(true);
      form.querySelectorAll("input").forEach((n) => { n.disabled = Boolean(detail && detail.correction); });
    } catch (e) {
      notice.textContent = e.message;
      notice.classList.add("bad");
    }
  });

  let detail;
  try {
    detail = await rekap.api("GET", `/api/v1/review/${code}`);
  } catch (e) {
    error.textContent = e.message;
    return;
  }
  document.querySelector("h1 .state").textContent = rekap.state(detail.state);
  if (detail.place) {
    const p = detail.place;
    document.querySelector(".place").textContent =
      `TPS ${String(p.tps_number).padStart(3, "0")} · Desa/Kel. ${p.desa} · Kec. ${p.kecamatan} · ${p.kabupaten}`;
  }
  if (detail.claimed_by && detail.claimed_by !== user.username) {
    notice.textContent = `Sedang ditinjau ${detail.claimed_by} sampai ${rekap.time(detail.claimed_until)}. Anda tetap dapat melihatnya.`;
  }
  const blocking = detail.findings.filter((f) => f.severity === "blocking");
  /* The reason the buttons outside the form send, asked for where it is typed. */
  const given = () => {
    const reason = form.reason.value.trim();
    if (!reason) {
      error.textContent = "Tuliskan alasannya dulu di kolom Alasan.";
      form.reason.focus();
    }
    return reason;
  };

  section.querySelector(".findings").replaceChildren(
    ...detail.findings.map((f) =>
      rekap.el("li", { class: f.severity === "blocking" ? "bad" : "" }, `${f.keterangan} (${f.left} ≠ ${f.right})`),
    ),
  );

  if (detail.flags && detail.flags.length) {
    const box = section.querySelector(".kppsflags");
    box.hidden = false;
    box.querySelector("p").textContent = "KPPS melaporkan angka terbaca salah: " + detail.flags
      .map((f) => `${rekap.field(f.field)}${f.note ? ` (${f.note})` : ""}, ${rekap.time(f.flagged_at)}`).join("; ") +
      ". Setiap keputusan atas TPS ini menjawab laporan itu.";
    box.querySelector("button").addEventListener("click", () => {
      const reason = given();
      if (!reason) return;
      send("flags/answer", { reason });
    });
  }
  const mine = detail.correction && detail.correction.proposed_by === user.username;
  if (detail.correction) {
    const c = detail.correction;
    const changes = Object.entries(c.changed)
      .map(([k, [before, after]]) => `${rekap.field(k)}: ${before ?? "kosong"} → ${after ?? "kosong"}`)
      .join("; ");
    const box = section.querySelector(".correction");
    box.hidden = false;
    box.textContent = `Koreksi oleh ${c.proposed_by}: ${changes}. Alasan: ${c.reason}.` +
      (mine ? " Menunggu persetujuan petugas lain." : "");
  }
  if (detail.new_reading) {
    const n = detail.new_reading;
    fresh.hidden = false;
    fresh.querySelector("p").textContent =
      `Foto baru (${rekap.time(n.read_at)}) terbaca berbeda dari angka ${rekap.state(detail.state).toLowerCase()}. ` +
      "Angka publik tidak berubah sampai petugas memutuskan:";
    fresh.querySelector("ul").replaceChildren(...Object.entries(n.changed).map(([k, [now, then]]) =>
      rekap.el("li", {}, `${rekap.field(k)}: ${now ?? "kosong"} → ${then ?? "kosong"}`)));
    fresh.querySelectorAll("button").forEach((b) => b.addEventListener("click", () => {
      const reason = given();
      if (!reason) return;
      send("new-reading", { adopt: b.dataset.adopt === "1", reason });
    }));
  }
  const show = (action, visible) => { form.querySelector(`[value=${action}]`).hidden = !visible; };
  show("confirm", !detail.correction);
  show("correct", !detail.correction);
  show("approve", detail.correction && !mine);
  show("reject", detail.correction && !mine);

  const rows = form.querySelector("tbody");
  for (const f of detail.fields) {
    const flagged = !f.accepted || f.value !== f.read;
    const crop = rekap.el("td", { class: "crop" });
    if (detail.crops && detail.crops[f.name]) {
      rekap.image(detail.crops[f.name]).then((src) => crop.append(rekap.el("img", { src, alt: `Potongan ${rekap.field(f.name)}` })), () => {});
    }
    const input = rekap.el("input", {
      type: "number", min: "0", max: "999", inputmode: "numeric", name: f.name,
      value: String(detail.numbers[f.name] ?? f.value ?? 0), "aria-label": rekap.field(f.name),
    });
    input.dataset.original = input.value;
    const seen = ((detail.alternatives || {})[f.name] || []).filter(([, p]) => p >= 0.01);
    const choices = flagged && seen.length > 1 ? rekap.el("small", { class: "choices" }, "Kemungkinan: ", ...seen.map(([v, p]) => {
      const b = rekap.el("button", { type: "button", class: "link" }, `${v ?? "kosong"} (${Math.round(100 * p)}%)`);
      b.addEventListener("click", () => { if (!input.disabled) input.value = String(v ?? 0); });
      return b;
    })) : null;
    rows.append(
      rekap.el(
        "tr",
        { class: flagged ? "flagged" : "" },
        rekap.el("th", {}, rekap.field(f.name),
          f.reason ? rekap.el("small", {}, f.reason) : null,
          f.read !== null && f.read !== f.value ? rekap.el("small", {}, `kotak terbaca ${f.read}`) : null,
          choices),
        crop,
        rekap.el("td", { class: "n" }, input),
      ),
    );
  }

  /* Photos: a tab per page, zoomed with the buttons, a double tap, or Ctrl + wheel; dragged by scrolling. */
  const photos = new Map();
  const tabs = section.querySelector(".tabs");
  const open = async (p) => {
    for (const b of tabs.children) b.classList.toggle("on", b.dataset.page === String(p.page));
    if (!photos.has(p.page)) photos.set(p.page, await rekap.image(p.url));
    img.src = photos.get(p.page);
    img.alt = `Foto halaman ${p.page}`;
  };
  for (const p of detail.photos) {
    const b = rekap.el("button", { type: "button", "data-page": String(p.page) }, `Halaman ${p.page}`);
    b.addEventListener("click", () => open(p));
    tabs.append(b);
  }
  if (detail.photos.length) open(detail.photos[0]);
  else frame.textContent = "Belum ada foto untuk TPS ini.";
  const setZoom = (z) => {
    zoom = Math.min(6, Math.max(1, z));
    img.style.width = `${zoom * 100}%`;
  };
  section.querySelectorAll("[data-zoom]").forEach((b) =>
    b.addEventListener("click", () => setZoom(zoom * (b.dataset.zoom === "1" ? 1.5 : 1 / 1.5))));
  img.addEventListener("dblclick", () => setZoom(zoom >= 6 ? 1 : zoom * 2));
  frame.addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey) return;
    ev.preventDefault();
    setZoom(zoom * (ev.deltaY < 0 ? 1.2 : 1 / 1.2));
  }, { passive: false });

  /* The result of an action is said next to the buttons. Confirming or approving numbers that break
     a blocking rule asks again, naming the rules; the second press signs them off anyway. */
  let warned = null;
  async function send(action, body) {
    error.textContent = "";
    said.textContent = "";
    try {
      const done = await rekap.api("POST", `/api/v1/review/${code}/${action}`, body);
      decided = true; // every action releases the claim
      said.textContent = {
        confirm: "Angka disahkan dan dipublikasikan.",
        correct: "Koreksi diusulkan; dipublikasikan setelah disetujui petugas lain.",
        approve: "Koreksi disetujui dan dipublikasikan.",
        reject: "Koreksi ditolak; TPS kembali ke antrian tinjauan.",
        retake: `Permintaan foto ulang halaman ${body.page} terkirim ke KPPS.`,
        "flags/answer": "Laporan KPPS dijawab; angka tetap.",
        "new-reading": body.adopt
          ? "Bacaan foto baru diambil: TPS kembali ke antrian tinjauan dengan angka itu."
          : "Foto baru diabaikan; angka yang ada tidak berubah.",
      }[action];
      said.append(" ", rekap.el("a", { href: "/petugas" }, "Kembali ke antrian"));
      notice.textContent = "";
      const now = action === "correct" ? "reviewed" : done && done.state; // a correction answers with itself
      if (now) document.querySelector("h1 .state").textContent = rekap.state(now);
      form.querySelectorAll("button, input, textarea, select").forEach((n) => { n.disabled = true; });
      section.querySelectorAll(".newreading button, .kppsflags button").forEach((n) => { n.disabled = true; });
    } catch (e) {
      error.textContent = e.message;
    }
  }
  actable(false);
  form.querySelectorAll("input").forEach((n) => { n.disabled = true; });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const action = ev.submitter && ev.submitter.value;
    const reason = form.reason.value.trim();
    error.textContent = "";
    let body = { reason };
    if ((action === "confirm" || action === "approve") && blocking.length) {
      if (warned !== action) {
        warned = action;
        error.textContent = "Angka ini melanggar aturan yang memblokir: " +
          blocking.map((f) => `${f.keterangan} (${f.left} ≠ ${f.right})`).join("; ") +
          ". Tekan sekali lagi untuk tetap mengesahkannya.";
        return;
      }
      body = { reason, over_findings: true };
    }
    if (action === "correct") {
      const numbers = {};
      for (const input of rows.querySelectorAll("input")) {
        if (input.value !== input.dataset.original) numbers[input.name] = Number(input.value);
      }
      if (!Object.keys(numbers).length) {
        error.textContent = "Tidak ada angka yang diubah. Ubah angka yang salah, atau sahkan angka terbaca.";
        return;
      }
      body = { numbers, reason };
    } else if (action === "retake") {
      body = { page: Number(form.page.value), reason };
    }
    await send(action, body);
  });
});
