// Search page: the same query language and filters as `gijiroku search`; the URL holds the
// query so a result page can be bookmarked or shared, and each hit opens the editor there.
import { api, loadMe, header, el, fmtTime, KINDS, showError, clearError } from "/assets/common.js";

const FIELDS = ["q", "speaker", "from", "to", "kind", "body"];

/** The server sends the snippet HTML-escaped with <mark> around matches. It is still parsed
 *  into an inert template and rebuilt from text and <mark> only, so nothing else can run. */
function snippet(html) {
  const t = document.createElement("template");
  t.innerHTML = html;
  const out = document.createDocumentFragment();
  const walk = (node, into) => {
    for (const c of node.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) into.append(c.textContent);
      else if (c.nodeType === Node.ELEMENT_NODE && c.tagName === "MARK") {
        const m = document.createElement("mark");
        walk(c, m);
        into.append(m);
      } else if (c.nodeType === Node.ELEMENT_NODE) walk(c, into);
    }
  };
  walk(t.content, out);
  return out;
}

async function run() {
  const box = document.getElementById("search-error");
  clearError(box);
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    const v = document.getElementById(f).value.trim();
    if (v) p.set(f, v);
  }
  history.replaceState(null, "", p.toString() ? `/search?${p}` : "/search");
  const hits = document.getElementById("hits");
  const summary = document.getElementById("summary");
  if (!p.get("q")) {
    hits.replaceChildren();
    summary.textContent = "検索語を入力してください。";
    return;
  }
  p.set("limit", "50");
  summary.textContent = "検索中…";
  try {
    const r = await api("GET", `/api/search?${p}`);
    // A fragment's count may be a lower bound (only the best candidates were checked).
    const count = r.total_at_least ? `${r.total} 件以上` : `${r.total} 件`;
    summary.textContent = r.total > r.hits.length
      ? `${count}中 ${r.hits.length} 件を表示`
      : count;
    hits.replaceChildren(
      ...r.hits.map((h) => {
        // A transcribed turn opens at its moment in the recording; a turn of imported minutes
        // text (no times) is scrolled to by its number.
        const href = `/meetings/${h.meeting_id}` + (h.start !== null && h.start !== undefined ? `?t=${h.start.toFixed(2)}` : `?turn=${h.seq}&q=${encodeURIComponent(p.get("q"))}`);
        return el(
          "div",
          { class: "hit", dataset: { meeting: h.meeting_id } },
          el("a", { class: "title hit-link", href }, h.title || `会議 ${h.meeting_id}`),
          el("div", { class: "meta" }, [
            h.date, KINDS[h.kind] || h.kind, h.body,
            h.speaker ? `${h.speaker}${h.role ? "（" + h.role + "）" : ""}` : null,
            h.start !== null && h.start !== undefined ? fmtTime(h.start) : null,
          ].filter(Boolean).join(" ・ ")),
          el("div", { class: "snippet" }, snippet(h.snippet || "")),
        );
      }),
    );
    if (!r.hits.length) hits.append(el("p", { class: "muted" }, "見つかりませんでした。"));
  } catch (e) {
    summary.textContent = "";
    hits.replaceChildren();
    showError(box, e);
  }
}

async function main() {
  await loadMe();
  header("search");
  const p = new URLSearchParams(location.search);
  for (const f of FIELDS) if (p.get(f)) document.getElementById(f).value = p.get(f);
  document.getElementById("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  if (p.get("q")) run();
}

main().catch((e) => showError(document.getElementById("search-error"), e));
