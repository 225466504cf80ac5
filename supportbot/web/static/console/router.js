/* Hash routes: #/<section>[/<id>][?<params>]. Each route change ends the view shown before (its
 * timers, its charts, and any late answer to its requests) and hands a fresh View to the route's
 * handler, which draws into #view with lit-html. */

import { render, nothing } from "../vendor/lit-html/lit-html.js";
import { keyed } from "../vendor/lit-html/directives/keyed.js";
import { session } from "./state.js";
import { message } from "./ui.js";

const outlet = document.getElementById("view");
let handlers = {};
let generation = 0;  // bumped on every route change
let timers = [];
let charts = [];

/* One view's lifetime: what it draws, what it polls, what it must stop. */
class View {
  constructor() {
    this.generation = generation;
  }

  /* Still the view on screen, for a signed-in agent: answers for an old view are dropped. */
  current() {
    return this.generation === generation && session.agent !== null;
  }

  /* Draws the view; the key makes a new view start from fresh elements, and later draws of the
   * same view update only what changed. */
  show(template) {
    if (this.current()) render(keyed(this.generation, template), outlet);
  }

  every(callback, ms) {
    timers.push(setInterval(callback, ms));
  }

  keepChart(chart) {
    charts.push(chart);
  }

  find(selector) {
    return outlet.querySelector(selector);
  }

  /* The view's title takes the focus after a route change, so screen readers follow. */
  focusHeading() {
    const node = outlet.querySelector("h1");
    if (node && document.activeElement === document.body) node.focus({ preventScroll: true });
  }
}

function endView() {
  generation += 1;
  timers.forEach((timer) => clearInterval(timer));
  timers = [];
  charts.forEach((chart) => chart.destroy());
  charts = [];
}

/* Signed out: nothing may keep running or stay on screen. */
export function clearView() {
  endView();
  render(nothing, outlet);
}

export function parseHash(hash) {
  const at = hash.indexOf("?");
  const path = (at < 0 ? hash : hash.slice(0, at)).replace(/^#\/?/, "").split("/");
  let id;
  try {
    id = path[1] ? decodeURIComponent(path[1]) : null;
  } catch {
    id = null;  // a malformed %-escape
  }
  return { section: path[0] || "conversations", id,
    params: new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)) };
}

export function route() {
  if (!session.agent) return;
  endView();
  const hash = location.hash || "#/conversations";
  const { section, id, params } = parseHash(hash);
  document.querySelectorAll("[data-nav]").forEach((link) => {
    if (link.getAttribute("data-nav") === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
  if (section === "conversations" && !id) session.listHash = hash;
  const view = new View();
  const handler = Object.hasOwn(handlers, section) ? handlers[section] : null;
  if (handler) handler(view, { id, params });
  else view.show(message("error", "There is no such page in the console."));
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/* handlers: section -> (view, {id, params}) => void */
export function startRouter(routes) {
  handlers = routes;
  window.addEventListener("hashchange", route);
}
