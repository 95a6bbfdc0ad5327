// Admin page: users (add, disable, role, password) and the audit log. Non-admins get the page
// but every API call answers 404, shown as a plain message.
import { api, loadMe, header, el, ROLES, showError, clearError, fmtDate } from "/assets/common.js";

const box = document.getElementById("admin-error");

async function loadUsers() {
  const users = await api("GET", "/api/users");
  const tbody = document.querySelector("#users tbody");
  tbody.replaceChildren(
    ...users.map((u) => {
      const role = el("select", { title: "役割を変更" },
        Object.entries(ROLES).map(([v, l]) => el("option", { value: v, selected: v === u.role }, l)));
      role.onchange = () => update(u.name, { role: role.value });
      const dept = el("input", { value: u.department || "", style: "width:9rem", title: "担当課を変更" });
      dept.onchange = () => update(u.name, { department: dept.value.trim() || null });
      return el(
        "tr",
        { dataset: { name: u.name } },
        el("td", {}, u.name),
        el("td", {}, role),
        el("td", {}, dept),
        el("td", {}, u.disabled ? el("span", { class: "tag" }, "停止中") : "有効"),
        el("td", { style: "white-space:nowrap" },
          el("button", { type: "button", onclick: () => update(u.name, { disabled: !u.disabled }) },
            u.disabled ? "再開" : "停止"),
          " ",
          el("button", {
            type: "button",
            onclick: () => {
              const p = prompt(`「${u.name}」の新しいパスワード:`);
              if (p) update(u.name, { password: p });
            },
          }, "パスワード変更")),
      );
    }),
  );
}

async function update(name, patch) {
  clearError(box);
  try {
    await api("PATCH", `/api/users/${encodeURIComponent(name)}`, patch);
  } catch (e) {
    showError(box, e);
  }
  await loadUsers().catch((e) => showError(box, e));
}

async function addUser(e) {
  e.preventDefault();
  clearError(box);
  try {
    await api("POST", "/api/users", {
      name: document.getElementById("nu-name").value.trim(),
      password: document.getElementById("nu-password").value,
      role: document.getElementById("nu-role").value,
      department: document.getElementById("nu-dept").value.trim() || null,
    });
    e.target.reset();
    await loadUsers();
  } catch (err) {
    showError(box, err);
  }
}

async function loadAudit(e) {
  e?.preventDefault();
  const p = new URLSearchParams();
  for (const [k, id] of [["user", "a-user"], ["meeting", "a-meeting"], ["from", "a-from"], ["to", "a-to"]]) {
    const v = document.getElementById(id).value.trim();
    if (v) p.set(k, v);
  }
  try {
    const rows = await api("GET", `/api/audit?${p}`);
    document.querySelector("#audit tbody").replaceChildren(
      ...rows.map((r) =>
        el("tr", {},
          el("td", {}, r.seq),
          el("td", { style: "white-space:nowrap" }, fmtDate(r.time)),
          el("td", {}, r.user),
          el("td", {}, r.action),
          el("td", {}, r.meeting_id !== null && r.meeting_id !== undefined
            ? el("a", { href: `/meetings/${r.meeting_id}` }, String(r.meeting_id)) : ""),
          el("td", {}, r.detail || ""))),
    );
  } catch (err) {
    showError(box, err);
  }
}

async function main() {
  await loadMe();
  header("admin");
  document.getElementById("add-user").addEventListener("submit", addUser);
  document.getElementById("audit-filter").addEventListener("submit", loadAudit);
  try {
    await loadUsers();
    await loadAudit();
  } catch (e) {
    if (e.status === 404) showError(box, "このページは管理者だけが使えます (admins only)");
    else showError(box, e);
  }
}

main().catch((e) => showError(box, e));
