/* Signing in and out. The sign-in form is part of the page shell (console_pages.py); any 401
 * brings it back, and signing in again shows the view the address asks for. */

import { api, forgetIntents, onUnauthorized } from "./api.js";
import { clearView, route } from "./router.js";
import { session } from "./state.js";

const top = document.getElementById("top");
const login = document.getElementById("login");
const loginForm = document.getElementById("login-form");
const loginError = document.getElementById("login-error");

function showError(text) {
  loginError.textContent = text || "";
  loginError.hidden = !text;
}

export function signedOut(text) {
  const wasSignedIn = session.agent !== null;
  session.agent = null;
  forgetIntents();
  clearView();
  top.hidden = true;
  login.hidden = false;
  showError(text);
  if (wasSignedIn || !text) document.getElementById("login-email").focus();
}

export function signedIn(agent) {
  session.agent = agent;
  document.getElementById("agent-name").textContent = agent.name;
  login.hidden = true;
  loginError.hidden = true;
  top.hidden = false;
  route();
}

async function submit(event) {
  event.preventDefault();
  const email = loginForm.elements.email.value.trim();
  const password = loginForm.elements.password.value;
  if (!email || !password) {
    showError("Enter your email address and your password.");
    return;
  }
  const button = loginForm.querySelector("button");
  button.disabled = true;
  let data;
  try {
    data = await api("POST", "/login", { email, password });
  } catch (error) {
    showError(error.status === 401
      ? "Sign-in failed: wrong email or password, or this agent account is disabled."
      : error.message);
    loginForm.elements.password.select();
    return;
  } finally {
    button.disabled = false;
  }
  loginForm.elements.password.value = "";
  signedIn(data.agent);
}

/* Wires the form and the sign-out button, then asks whether a session is already live. */
export function startSignIn() {
  onUnauthorized(() => {
    signedOut(session.agent ? "Your session has ended. Please sign in again." : null);
  });
  loginForm.addEventListener("submit", submit);
  document.getElementById("sign-out").addEventListener("click", () => {
    api("POST", "/logout").finally(() => signedOut(null)).catch(() => {});
  });
  api("GET", "/me").then((data) => signedIn(data.agent), (error) => {
    if (error.status !== 401) signedOut("The console cannot reach the server: " + error.message);
  });
}
