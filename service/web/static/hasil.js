"use strict";
/* A results page follows the live feed: when a change touches its region, the region's JSON is
   read again and the numbers on the page replaced where they stand (no reload). The page works
   without this script; it only keeps an open page current on election night. */
(() => {
  const main = document.querySelector("main[data-region]");
  if (!main || !window.EventSource) return;
  const code = main.dataset.region;
  const angka = (n) => n.toLocaleString("id-ID");
  const persen = (s) => `${(100 * s).toFixed(2).replace(".", ",")}%`;
  const set = (node, text) => { if (node && node.textContent !== text) node.textContent = text; };

  async function refresh() {
    const res = await fetch(`/api/v1/public/ppwp/regions/${code || "nasional"}`);
    if (!res.ok) return;
    const region = await res.json();
    const p = region.progress;
    const bar = document.querySelector("#progress progress");
    bar.max = p.tps_expected || 1;
    bar.value = p.tps_published;
    set(document.querySelector("#progress .text"),
      `${angka(p.tps_published)} dari ${angka(p.tps_expected)} TPS dipublikasikan (${persen(p.share)})`);
    for (const c of region.candidates) {
      set(document.querySelector(`[data-pair="${c.number}"]`), angka(c.votes));
      const meter = document.querySelector(`[data-share="${c.number}"]`);
      if (meter) meter.value = c.share;
      set(document.querySelector(`[data-pct="${c.number}"]`), persen(c.share));
    }
    set(document.getElementById("suara-sah"), angka(region.suara_sah));
    set(document.getElementById("suara-tidak-sah"), angka(region.suara_tidak_sah));
    set(document.getElementById("suara-total"), angka(region.suara_total));
    for (const ch of region.children) {
      const row = document.querySelector(`tr[data-child="${ch.code}"]`);
      if (!row) continue;
      const cells = [...row.querySelectorAll("td")].slice(1, -1);
      const shown = ch.progress.tps_published ? ch.votes.map(angka) : ["belum masuk"];
      if (cells.length !== shown.length) {
        const fresh = shown.map((text) => {
          const td = document.createElement("td");
          td.className = ch.progress.tps_published ? "n" : "none";
          if (!ch.progress.tps_published) td.colSpan = region.candidates.length;
          td.textContent = text;
          return td;
        });
        cells.forEach((td) => td.remove());
        row.lastElementChild.before(...fresh);
      } else {
        cells.forEach((td, i) => set(td, shown[i]));
      }
      set(row.lastElementChild, `${ch.progress.tps_published}/${ch.progress.tps_expected}`);
    }
    shadeMap(region.children);
    set(document.querySelector(".meta .version"), String(region.version));
  }

  /* The national map: as province_map.shades draws it on the server. */
  function shadeMap(children) {
    const colour = {};
    document.querySelectorAll("rect[data-colour]").forEach((r) => { colour[r.dataset.colour] = r.getAttribute("fill"); });
    for (const ch of children) {
      const path = document.querySelector(`path[data-prov="${ch.code}"]`);
      if (!path) continue;
      const top = Math.max(0, ...ch.votes);
      const leaders = ch.votes.flatMap((v, i) => (v === top ? [i + 1] : []));
      const leader = ch.progress.tps_published && top > 0 && leaders.length === 1 ? leaders[0] : null;
      path.dataset.leader = leader || "";
      path.setAttribute("fill", leader ? colour[leader] || "#d6dbe0" : "#d6dbe0");
      path.setAttribute("fill-opacity", leader ? (0.35 + 0.65 * ch.progress.share).toFixed(2) : "1");
      const state = leader ? `unggul ${String(leader).padStart(2, "0")}` : ch.progress.tps_published ? "seri" : "belum masuk";
      set(path.querySelector("title"), `${path.dataset.name}: ${state}`);
    }
  }

  const feed = new EventSource(`/api/v1/public/ppwp/changes${code ? `?region=${code}` : ""}`);
  let pending = null;
  feed.addEventListener("change", () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(() => {}), 300); // a burst of changes: read once
  });
})();
