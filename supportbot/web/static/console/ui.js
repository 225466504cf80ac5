/* Small templates every view uses. lit-html escapes every interpolated value, so customer text,
 * names, notes, tags and entity values are text, never markup. Inline templates are written
 * without whitespace between elements: it would show as a space between chips and buttons. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { sentimentBand, signed } from "./format.js";

export const REVIEW_STATUSES = [["new", "New"], ["reviewed", "Reviewed"],
  ["needs_training_data", "Needs training data"]];

export function statusLabel(status) {
  const found = REVIEW_STATUSES.find((s) => s[0] === status);
  return found ? found[1] : status;
}

/* An error is an alert; anything else a status. */
export function message(kind, text) {
  return html`<p class=${kind} role=${kind === "error" ? "alert" : "status"}>${text}</p>`;
}

export function chip(text, extraClass, title) {
  return html`<span class=${"chip" + (extraClass ? " " + extraClass : "")} title=${title ?? nothing}>${text}</span>`;
}

export function sentimentChip(label, score) {
  const noScore = score === null || score === undefined;
  if (!label && noScore) return chip("no sentiment", "muted");
  label = label || sentimentBand(score);
  const text = label + (noScore ? "" : " " + signed(score));
  return chip(text, "sentiment sentiment-" + (sentimentBand(score) || label), "Sentiment " + text);
}

/* A labelled control; control(id) is the control's template with that id. */
export function field(labelText, id, control, extraClass) {
  return html`<div class=${"field" + (extraClass ? " " + extraClass : "")}><label for=${id}>${labelText}</label>${control(id)}</div>`;
}

/* <option>s of [value, label] pairs (or plain values); the current one is selected. */
export function options(list, current) {
  return list.map((option) => {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    return html`<option value=${value} ?selected=${value === (current || "")}>${label}</option>`;
  });
}

/* The view's title; the router focuses it after a route change. */
export function heading(text) {
  return html`<h1 tabindex="-1">${text}</h1>`;
}

export function headRow(names) {
  return html`<thead><tr>${names.map((name) => html`<th scope="col">${name}</th>`)}</tr></thead>`;
}

export function fact(term, value) {
  return html`<div><dt>${term}</dt><dd>${value}</dd></div>`;
}

export function conversationHref(senderId) {
  return "#/conversations/" + encodeURIComponent(senderId);
}
