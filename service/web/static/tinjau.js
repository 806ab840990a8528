"use strict";
/* The review screen: the photo (zoomable) beside each field's crop and number; confirm, correct
   (a second officer approves), approve or reject another's correction, or ask for a new photo. */
rekap.start(["officer", "admin"], async (user) => {
  const code = document.getElementById("code").textContent;
  const section = document.getElementById("review");
  const form = document.getElementById("decide");
  const notice = section.querySelector(".claim");
  const error = form.querySelector(".error");
  const frame = section.querySelector(".frame");
  const img = frame.querySelector("img");
  let decided = false;
  let zoom = 1;
  section.hidden = false;

  try {
    const claim = await rekap.api("POST", `/api/v1/review/${code}/claim`, {});
    notice.textContent = `TPS ini Anda pegang sampai ${rekap.time(claim.expires_at)}; petugas lain tidak dapat mengubahnya.`;
  } catch (e) {
    notice.textContent = e.message;
    notice.classList.add("bad");
  }
  const release = () => fetch(`/api/v1/review/${code}/claim`, { method: "DELETE", headers: rekap.auth(), keepalive: true });
  window.addEventListener("pagehide", () => { if (!decided) release(); });
  rekap.onLogout(async () => {
    if (decided) return;
    decided = true;
    await release();
  });

  let detail;
  try {
    detail = await rekap.api("GET", `/api/v1/review/${code}`);
  } catch (e) {
    error.textContent = e.message;
    return;
  }
  document.querySelector("h1 .state").textContent = rekap.state(detail.state);

  section.querySelector(".findings").replaceChildren(
    ...detail.findings.map((f) =>
      rekap.el("li", { class: f.severity === "blocking" ? "bad" : "" }, `${f.keterangan} (${f.left} ≠ ${f.right})`),
    ),
  );

  const mine = detail.correction && detail.correction.proposed_by === user.username;
  if (detail.correction) {
    const c = detail.correction;
    const changes = Object.keys(c.numbers_after)
      .map((k) => `${rekap.field(k)}: ${c.numbers_before[k]} → ${c.numbers_after[k]}`)
      .join("; ");
    const box = section.querySelector(".correction");
    box.hidden = false;
    box.textContent = `Koreksi oleh ${c.proposed_by}: ${changes}. Alasan: ${c.reason}.` +
      (mine ? " Menunggu persetujuan petugas lain." : "");
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
    input.disabled = Boolean(detail.correction);
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

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const action = ev.submitter && ev.submitter.value;
    const reason = form.reason.value.trim();
    error.textContent = "";
    let body = { reason };
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
    try {
      const done = await rekap.api("POST", `/api/v1/review/${code}/${action}`, body);
      decided = true; // every action releases the claim
      const said = {
        confirm: "Angka disahkan dan dipublikasikan.",
        correct: "Koreksi diusulkan; dipublikasikan setelah disetujui petugas lain.",
        approve: "Koreksi disetujui dan dipublikasikan.",
        reject: "Koreksi ditolak; TPS kembali ke antrian tinjauan.",
        retake: `Permintaan foto ulang halaman ${body.page} terkirim ke KPPS.`,
      }[action];
      notice.classList.remove("bad");
      notice.textContent = said;
      notice.append(" ", rekap.el("a", { href: "/petugas" }, "Kembali ke antrian"));
      const now = action === "correct" ? "reviewed" : done.state; // a correction answers with itself
      if (now) document.querySelector("h1 .state").textContent = rekap.state(now);
      if (decided) form.querySelectorAll("button, input, textarea").forEach((n) => { n.disabled = true; });
    } catch (e) {
      error.textContent = e.message;
    }
  });
});
