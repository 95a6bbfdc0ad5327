// Sign-in form: POST /api/login, then go where the user was sent from (same-origin paths only).
import { api, showError, clearError } from "/assets/common.js";

const form = document.getElementById("login-form");
const box = document.getElementById("login-error");

/** Only a local path may be a redirect target, so a crafted link cannot send the user away. */
function nextPath() {
  const n = new URLSearchParams(location.search).get("next");
  return n && n.startsWith("/") && !n.startsWith("//") && !n.startsWith("/login") ? n : "/";
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError(box);
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    await api(
      "POST",
      "/api/login",
      {
        user: document.getElementById("user").value.trim(),
        password: document.getElementById("password").value,
      },
      { noRedirect: true, noCsrf: true },
    );
    location.href = nextPath();
  } catch (e) {
    showError(box, e);
    button.disabled = false;
  }
});
