/* The console API client: JSON in and out, errors as ApiError with the server's message. A 401
 * on any call but the login itself tells the sign-in module (onUnauthorized), which brings back
 * the sign-in form; signing in again returns to the view that was asked for. */

export const API = "/api/console";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let unauthorized = () => {};

/* Called on every 401 (but the login's own). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, options);
  } catch {
    throw new ApiError(0, "The console cannot reach the server. Check your connection.");
  }
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/login") unauthorized();
  if (!response.ok) {
    throw new ApiError(response.status,
      data.error || "The console could not do that (" + response.status + ").");
  }
  return data;
}

let intentNames = null;  // a promise of the domain's intent names, fetched once per sign-in

export function intents() {
  if (!intentNames) {
    intentNames = api("GET", "/intents").then((data) => data.intents || [], (error) => {
      intentNames = null;  // try again next time
      throw error;
    });
  }
  return intentNames;
}

/* On sign-out: the next agent fetches the intents again. */
export function forgetIntents() {
  intentNames = null;
}

/* Path segment of one conversation. */
export function conversationPath(senderId) {
  return "/conversations/" + encodeURIComponent(senderId);
}
