"use strict";
/* The officer's queue: TPS of their area waiting for a decision, most consequential first. */
rekap.start(["officer", "admin"], () => {
  const section = document.getElementById("queue");
  const body = section.querySelector("tbody");
  const WAITING = { review: "Tinjauan", approval: "Persetujuan koreksi", new_reading: "Foto baru TPS terbit" };
  section.hidden = false;

  async function load() {
    const items = await rekap.api("GET", "/api/v1/review/queue");
    section.querySelector(".empty").hidden = items.length > 0;
    body.replaceChildren(
      ...items.map((t) =>
        rekap.el(
          "tr",
          { "data-tps": t.tps_code },
          rekap.el("td", {}, rekap.el("a", { href: `/petugas/tps/${t.tps_code}` }, `${t.name} `),
            rekap.el("small", {}, t.tps_code)),
          rekap.el("td", {}, WAITING[t.waiting_for] || t.waiting_for),
          rekap.el("td", { class: "n" }, String(t.disagreement)),
          rekap.el("td", { class: "n" }, String(t.voters)),
          rekap.el("td", {}, t.claimed_by ? `${t.claimed_by} s.d. ${rekap.time(t.claimed_until)}` : ""),
        ),
      ),
    );
  }

  load().catch((e) => { section.querySelector(".hint").textContent = e.message; });
  setInterval(() => { if (!document.hidden) load().catch(() => {}); }, 15000);
});
