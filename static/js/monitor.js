// Live monitor: a transaction the poll sends again (it moved on) replaces its older row further
// down, and the feed keeps its latest rows only.
document.addEventListener("htmx:afterSwap", (event) => {
  const rows = document.getElementById("monitor-rows");
  if (event.detail.target !== rows) return;
  const limit = Number(rows.dataset.rowLimit);
  const seen = new Set();
  for (const row of Array.from(rows.rows)) {
    if (seen.has(row.id) || seen.size >= limit) row.remove();
    else seen.add(row.id);
  }
  document.getElementById("monitor-empty").hidden = seen.size > 0;
});
