// Archive page: upload form (XHR so the send progress of a 1 GB recording is visible), the
// job list with live progress over Server-Sent Events, and the filterable meetings list.
import {
  api, loadMe, header, el, fmtDuration, fmtTime, KINDS, STAGES, CLASSIFICATIONS, fmtDate,
  showError, clearError, csrfToken,
} from "/assets/common.js";

const pageError = document.getElementById("page-error");
let meetings = [];
const streams = new Map(); // job id → EventSource

async function loadModels() {
  const select = document.getElementById("up-model");
  try {
    const models = await api("GET", "/api/models");
    select.replaceChildren(
      ...models.map((m) =>
        el("option", { value: m.name }, m.name + (m.multilingual ? "" : "（英語のみ）")),
      ),
    );
    const base = models.find((m) => m.name === "whisper-base");
    if (base) select.value = base.name;
    if (!models.length) select.append(el("option", { value: "" }, "モデルがありません"));
  } catch (e) {
    showError(pageError, e);
  }
}

// ---- jobs ---------------------------------------------------------------------------------

function jobRow(job) {
  let row = document.querySelector(`.job[data-id="${CSS.escape(String(job.id))}"]`);
  if (!row) {
    row = el("div", { class: "job", dataset: { id: job.id } });
    const list = document.getElementById("jobs");
    list.querySelector("p.muted")?.remove();
    list.prepend(row);
  }
  return row;
}

function renderJob(job) {
  const row = jobRow(job);
  row.dataset.state = job.state;
  row.dataset.stage = job.stage;
  row.dataset.percent = String(Math.round(job.percent ?? 0));
  const pct = Math.max(0, Math.min(100, job.percent ?? 0));
  const stage = STAGES[job.stage] || job.stage;
  let eta = "";
  if (job.state === "running" && job.eta_seconds !== null && job.eta_seconds !== undefined) {
    eta = ` ・ 残り約${fmtDuration(job.eta_seconds)}`;
  }
  const title = job.title || job.file_name || `ジョブ ${job.id}`;
  const info = el(
    "div",
    {},
    el("strong", {}, title),
    " ",
    el("span", { class: "tag" }, KINDS[job.kind] || job.kind || ""),
    el("div", { class: "muted", style: "font-size:0.85rem" },
      [job.file_name, job.user, fmtDate(job.created_at)].filter(Boolean).join(" ・ ")),
  );
  const bar = el(
    "div",
    { class: "bar-cell" },
    el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
      "aria-valuenow": Math.round(pct) },
      el("div", { style: `width:${pct}%` })),
    el("div", { class: "stage", style: "font-size:0.85rem" }, `${stage} ${Math.round(pct)} %${eta}`),
  );
  let action = el("span", { class: "act" });
  if (job.state === "done" && job.meeting_id !== null && job.meeting_id !== undefined) {
    action = el("a", { class: "button primary open-editor act", href: `/meetings/${job.meeting_id}` }, "校正を開く");
  }
  row.replaceChildren(info, action, bar);
  if (job.state === "failed") {
    row.append(el("div", { class: "err error" }, job.error || "処理に失敗しました"));
  }
}

function follow(job) {
  if (job.state === "done" || job.state === "failed" || streams.has(job.id)) return;
  const es = new EventSource(`/api/jobs/${job.id}/events`);
  streams.set(job.id, es);
  es.onmessage = (ev) => {
    let j;
    try {
      j = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    renderJob(j);
    if (j.state === "done" || j.state === "failed") {
      es.close();
      streams.delete(j.id);
      if (j.state === "done") loadMeetings();
    }
  };
  es.onerror = () => {
    // The stream ends after done/failed, or the connection dropped: ask once for the state and
    // reconnect only if the job is still going.
    es.close();
    streams.delete(job.id);
    setTimeout(async () => {
      try {
        const j = await api("GET", `/api/jobs/${job.id}`);
        renderJob(j);
        follow(j);
      } catch (e) {
        showError(pageError, e);
      }
    }, 1500);
  };
}

async function loadJobs() {
  try {
    const jobs = await api("GET", "/api/jobs");
    for (const j of [...jobs].reverse()) {
      renderJob(j);
      follow(j);
    }
  } catch (e) {
    showError(pageError, e);
  }
}

// ---- upload -------------------------------------------------------------------------------

function upload(ev) {
  ev.preventDefault();
  const box = document.getElementById("up-error");
  clearError(box);
  const file = document.getElementById("up-file").files[0];
  if (!file) {
    showError(box, "録音ファイルを選んでください (choose a file)");
    return;
  }
  // Text fields first, the file last: the server reads the metadata before streaming the
  // recording to disk.
  const fd = new FormData();
  const fields = {
    kind: "up-kind", language: "up-language", model: "up-model", title: "up-title",
    date: "up-date", start_time: "up-start", body: "up-body", place: "up-place",
    speakers: "up-speakers", min_speakers: "up-min", max_speakers: "up-max",
    classification: "up-class", department: "up-dept",
  };
  for (const [name, id] of Object.entries(fields)) {
    const v = document.getElementById(id).value.trim();
    if (v !== "") fd.append(name, v);
  }
  fd.append("file", file, file.name);

  const submit = document.getElementById("up-submit");
  const prog = document.getElementById("up-progress");
  const bar = document.getElementById("up-bar");
  const pct = document.getElementById("up-pct");
  submit.disabled = true;
  prog.classList.remove("hidden");
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/jobs");
  xhr.setRequestHeader("X-CSRF-Token", csrfToken() || "");
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) {
      const p = Math.round((e.loaded / e.total) * 100);
      bar.value = p;
      pct.textContent = `${p} %`;
    }
  };
  xhr.onload = () => {
    submit.disabled = false;
    prog.classList.add("hidden");
    let data = null;
    try {
      data = JSON.parse(xhr.responseText);
    } catch (e) {
      data = null;
    }
    if (xhr.status === 401) {
      location.href = "/login?next=/";
      return;
    }
    if (xhr.status < 200 || xhr.status >= 300) {
      showError(box, (data && data.error) || `アップロードに失敗しました (${xhr.status})`);
      return;
    }
    // Ready for the next recording: the per-meeting fields are cleared, the choices kept.
    const keep = ["up-kind", "up-language", "up-model", "up-class", "up-dept"].map((id) => [id, document.getElementById(id).value]);
    document.getElementById("upload-form").reset();
    for (const [id, v] of keep) document.getElementById(id).value = v;
    const job = data.job || data;
    renderJob(job);
    follow(job);
  };
  xhr.onerror = () => {
    submit.disabled = false;
    prog.classList.add("hidden");
    showError(box, "送信が中断されました (upload interrupted)");
  };
  xhr.send(fd);
}

// ---- meetings -----------------------------------------------------------------------------

async function loadMeetings() {
  try {
    meetings = await api("GET", "/api/meetings");
    renderMeetings();
  } catch (e) {
    showError(pageError, e);
  }
}

function renderMeetings() {
  const kind = document.getElementById("f-kind").value;
  const from = document.getElementById("f-from").value;
  const to = document.getElementById("f-to").value;
  const text = document.getElementById("f-text").value.trim().toLowerCase();
  const shown = meetings.filter((m) => {
    if (kind && m.kind !== kind) return false;
    if (from && (!m.date || m.date < from)) return false;
    if (to && (!m.date || m.date > to)) return false;
    if (text) {
      const hay = [m.title, m.body, m.department].filter(Boolean).join(" ").toLowerCase();
      if (!hay.includes(text)) return false;
    }
    return true;
  });
  const tbody = document.querySelector("#meetings tbody");
  tbody.replaceChildren(
    ...shown.map((m) =>
      el(
        "tr",
        { dataset: { id: m.id } },
        el("td", { style: "white-space:nowrap" }, m.date || "–"),
        el("td", {}, el("a", { href: `/meetings/${m.id}`, class: "meeting-link" }, m.title || `会議 ${m.id}`),
          m.classification && m.classification !== "public"
            ? el("span", { class: "tag", style: "margin-left:0.4rem" }, CLASSIFICATIONS[m.classification] || m.classification)
            : null),
        el("td", {}, KINDS[m.kind] || m.kind || ""),
        el("td", {}, m.body || ""),
        el("td", { style: "white-space:nowrap" }, m.duration ? fmtTime(m.duration) : "–"),
        el("td", {}, m.speakers ?? ""),
        el("td", {}, m.version ?? (m.origin === "minutes-text" ? "本文のみ" : "–")),
        el("td", {}, m.has_audio ? el("a", { href: `/meetings/${m.id}`, class: "button" }, "校正") : ""),
      ),
    ),
  );
  document.getElementById("meetings-empty").classList.toggle("hidden", shown.length > 0);
}

async function main() {
  const me = await loadMe();
  header("archive");
  // The kind a user usually files: clerks council committees, caseworkers consultations.
  const usual = { clerk: "committee", caseworker: "consultation" }[me.role];
  if (usual) document.getElementById("up-kind").value = usual;
  document.getElementById("upload-form").addEventListener("submit", upload);
  for (const id of ["f-kind", "f-from", "f-to", "f-text"]) {
    document.getElementById(id).addEventListener("input", renderMeetings);
  }
  await Promise.all([loadModels(), loadJobs(), loadMeetings()]);
}

main().catch((e) => showError(pageError, e));
