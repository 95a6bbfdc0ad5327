// Helpers shared by every page: the JSON API wrapper (CSRF header, 401 → /login), a tiny
// DOM builder that only ever sets textContent (server data never reaches innerHTML), the
// header bar and time formatting. Hand-written because the offline rule forbids a CDN and
// a framework would need a build step.

let csrf = null;
let me = null;

/** An API failure carrying the HTTP status and the server's one-sentence error. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function toLogin() {
  const next = location.pathname + location.search;
  location.href = "/login?next=" + encodeURIComponent(next);
}

/** Calls the JSON API. Throws ApiError for non-2xx; redirects to /login on 401 unless
 *  `opts.noRedirect`. Returns parsed JSON, or null for 204. */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") {
    if (csrf === null && !opts.noCsrf) await loadMe();
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, "サーバーに接続できません (cannot reach the server)");
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.noRedirect) {
      toLogin();
      throw new ApiError(401, "sign in", data);
    }
    const msg = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

/** Who is signed in (and the CSRF token); redirects to /login when nobody is. */
export async function loadMe() {
  const data = await api("GET", "/api/me", undefined, { noCsrf: true });
  csrf = data.csrf;
  me = data.user;
  return me;
}

export function setCsrf(token) {
  csrf = token;
}

export function csrfToken() {
  return csrf;
}

/** el("div", {class: "x", onclick: f}, "text", child, …): builds an element; strings become
 *  text nodes, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k === "value") e.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected") e[k] = !!v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** 83.4 → "1:23", 3723 → "1:02:03". */
export function fmtTime(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** Seconds as a human duration in Japanese: "約3分", "1時間5分". */
export function fmtDuration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.round(s);
  if (s < 60) return `${s}秒`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return h > 0 ? `${h}時間${m}分` : `${m}分`;
}

export const KINDS = {
  council: "本会議",
  committee: "委員会",
  consultation: "相談",
  meeting: "会議",
};

export const ROLES = {
  admin: "管理者",
  clerk: "議会事務局",
  caseworker: "相談員",
  viewer: "閲覧者",
};

export const CLASSIFICATIONS = {
  public: "公開",
  internal: "庁内限り",
  confidential: "秘",
};

export const STAGES = {
  queued: "待機中",
  decoding: "音声の読み込み",
  transcribing: "文字起こし",
  diarizing: "話者の識別",
  drafting: "会議録の作成",
  archiving: "保存",
  done: "完了",
  failed: "失敗",
};

/** The header bar: brand, navigation (管理 only for admins), user and sign-out. */
export function header(active) {
  const links = [
    ["/", "会議一覧", "archive"],
    ["/search", "検索", "search"],
  ];
  if (me && me.role === "admin") links.push(["/admin", "管理", "admin"]);
  const nav = el(
    "nav",
    {},
    links.map(([href, label, key]) =>
      el("a", { href, class: key === active ? "active" : null }, label),
    ),
  );
  const who = el(
    "span",
    { class: "who", id: "who" },
    me ? `${me.name}（${ROLES[me.role] || me.role}）` : "",
  );
  const out = el(
    "button",
    {
      type: "button",
      id: "logout",
      onclick: async () => {
        try {
          await api("POST", "/api/logout");
        } finally {
          location.href = "/login";
        }
      },
    },
    "ログアウト",
  );
  const h = el("header", { class: "top" }, el("span", { class: "brand" }, "議事録 gijiroku"), nav, who, out);
  document.body.prepend(h);
}

/** Shows an error in a page's error box (or alert when there is none). */
export function showError(box, err) {
  const msg = err instanceof Error ? err.message : String(err);
  if (!box) {
    alert(msg);
    return;
  }
  box.textContent = msg;
  box.classList.remove("hidden");
}

export function clearError(box) {
  if (!box) return;
  box.textContent = "";
  box.classList.add("hidden");
}

/** An RFC 3339 time from the server in the browser's local time: "2026/12/03 10:00". */
export function fmtDate(s) {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d)) return s;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
