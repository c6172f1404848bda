// The login form: account and password, sent with SASL PLAIN by the client, or a new
// account made with REGISTER where the server lets people sign up. The password is
// kept in memory only (to reconnect), never stored in the browser; "Stay signed in"
// keeps a revocable login token instead (main.js, docs/protocol.md "Login tokens").

export function mountLogin(root, onLogin) {
  const form = root.querySelector("form");
  const error = root.querySelector("#login-error");
  const button = form.querySelector("button[type=submit]");
  const account = form.elements.account;
  const password = form.elements.password;
  const remember = form.elements.remember;
  account.value = localStorage.getItem("hearth.account") || "";
  (account.value ? password : account).focus();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const register = ev.submitter?.value === "register";
    error.textContent = "";
    if (!account.value.trim() || !password.value) {
      error.textContent = "Login required: enter your account and password.";
      return;
    }
    button.disabled = true;
    button.textContent = "Signing in…";
    try {
      await onLogin(account.value.trim(), password.value, register, remember.checked);
      localStorage.setItem("hearth.account", account.value.trim());
      password.value = "";
    } catch (e) {
      error.textContent = e.message;
      password.select();
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  });
}
