/* #/conversations?<filters>&page=N: every filter of the API, the results table, paging, the
 * total and (for an admin) the export of the filtered set. The filters live in the address, so
 * a filtered list is a link. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { API, api, intents } from "./api.js";
import { DASH, dateTime, query, unique } from "./format.js";
import { go } from "./router.js";
import { session } from "./state.js";
import {
  REVIEW_STATUSES, chip, conversationHref, field, headRow, heading, message, options,
  sentimentChip, statusLabel
} from "./ui.js";

const PAGE_SIZE = 25;
const FILTERS = ["q", "date_from", "date_to", "intent", "sentiment", "handoff", "csat",
  "review_status", "tag", "customer"];
const COLUMNS = ["Started", "Customer", "Intents", "Sentiment", "Handoff", "CSAT", "Review", "Tags"];

export function conversationsView(view, params) {
  const filters = {};
  FILTERS.forEach((key) => { filters[key] = params.get(key) || ""; });
  const page = Math.max(1, parseInt(params.get("page"), 10) || 1);
  let intentNames = filters.intent ? [filters.intent] : [];
  let busy = true;
  let results = message("muted", "Loading conversations\u2026");

  function apply(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const chosen = {};
    FILTERS.forEach((key) => { chosen[key] = form.elements[key].value.trim(); });
    const qs = query(chosen);
    go("#/conversations" + (qs ? "?" + qs : ""));
  }

  const draw = () => view.show(html`
    ${heading("Conversations")}
    ${filterForm(filters, intentNames, apply)}
    <section class="results" aria-live="polite" aria-busy=${busy ? "true" : "false"}>${results}</section>`);

  draw();
  view.focusHeading();

  intents().then((names) => {
    if (!view.current()) return;
    intentNames = names;
    draw();
  }, () => { /* the list still works with "Any intent" */ });

  const listQuery = query({ ...filters, page, page_size: PAGE_SIZE });
  api("GET", "/conversations?" + listQuery).then((data) => {
    if (!view.current()) return;
    busy = false;
    results = [summary(data, filters), data.total ? table(data.items)
      : message("empty", "No conversations match these filters."), pager(data, filters)];
    draw();
  }, (error) => {
    if (!view.current()) return;
    busy = false;
    results = message("error", "Could not load conversations: " + error.message);
    draw();
  });
}

function filterForm(filters, intentNames, apply) {
  const choices = {
    intent: () => options([["", "Any intent"], ...intentNames], filters.intent),
    sentiment: () => options([["", "Any"], ["negative", "Negative"], ["neutral", "Neutral"],
      ["positive", "Positive"]], filters.sentiment),
    handoff: () => options([["", "Any"], ["true", "Handed off"], ["false", "Not handed off"]],
      filters.handoff),
    csat: () => options([["", "Any"], ["rated", "Rated"], ["unrated", "Not rated"], "5", "4", "3",
      "2", "1"], filters.csat),
    review_status: () => options([["", "Any"], ...REVIEW_STATUSES], filters.review_status)
  };
  const select = (name) => (id) => html`<select id=${id} name=${name}>${choices[name]()}</select>`;
  return html`
    <form class="filters" aria-label="Filter conversations" @submit=${apply}>
      ${field("Search", "filter-q", (id) => html`<input id=${id} name="q" type="search"
        .value=${filters.q} placeholder="id, customer, note or tag" maxlength="200">`, "wide")}
      ${field("From", "filter-from", (id) => html`<input id=${id} name="date_from" type="date"
        .value=${filters.date_from}>`)}
      ${field("To", "filter-to", (id) => html`<input id=${id} name="date_to" type="date"
        .value=${filters.date_to}>`)}
      ${field("Intent", "filter-intent", select("intent"))}
      ${field("Sentiment", "filter-sentiment", select("sentiment"))}
      ${field("Handoff", "filter-handoff", select("handoff"))}
      ${field("CSAT", "filter-csat", select("csat"))}
      ${field("Review", "filter-review", select("review_status"))}
      ${field("Tag", "filter-tag", (id) => html`<input id=${id} name="tag" type="text"
        .value=${filters.tag} maxlength="40">`)}
      ${field("Customer", "filter-customer", (id) => html`<input id=${id} name="customer" type="text"
        .value=${filters.customer} placeholder="id or email" maxlength="254">`)}
      <div class="actions">
        <button type="submit" class="primary">Apply filters</button>
        <button type="button" @click=${() => go("#/conversations")}>Clear</button>
      </div>
    </form>`;
}

function summary(data, filters) {
  const exportLink = (format) => html`<a class="button" download
    href=${API + "/conversations/export?" + query({ format, ...filters })}>${"Export " + format.toUpperCase()}</a>`;
  const total = data.total.toLocaleString() + (data.total === 1 ? " conversation" : " conversations") +
    (query(filters) ? " match these filters" : "");
  return html`
    <div class="summary">
      <p class="total">${total}</p>
      ${session.agent && session.agent.role === "admin"
        // Exports of many conversations are admins' only (the API answers 403 to an agent).
        ? html`<div class="exports">${exportLink("json")}${exportLink("csv")}</div>`
        : nothing}
    </div>`;
}

function table(items) {
  return html`
    <div class="table-wrap">
      <table class="list">
        ${headRow(COLUMNS)}
        <tbody>${items.map(row)}</tbody>
      </table>
    </div>`;
}

function customerCell(customer) {
  if (!customer) return html`<span class="muted">Guest</span>`;
  return html`<span>${customer.name}</span><br><small class="muted">${customer.email}</small>`;
}

const none = () => html`<span class="muted">${DASH}</span>`;

function row(item) {
  const intentsShown = unique(item.intents || []);
  return html`
    <tr data-sender-id=${item.sender_id}>
      <td><a href=${conversationHref(item.sender_id)}>${dateTime(item.started_at)}</a></td>
      <td>${customerCell(item.customer)}</td>
      <td class="chips">${intentsShown.length ? intentsShown.map((name) => chip(name, "intent")) : none()}</td>
      <td>${item.sentiment_average == null ? none() : sentimentChip(item.sentiment, item.sentiment_average)}</td>
      <td>${item.handoff ? "Yes" : "No"}</td>
      <td>${item.csat_rating ? item.csat_rating + " / 5" : DASH}</td>
      <td>${chip(statusLabel(item.review_status), "status status-" + item.review_status)}</td>
      <td class="chips">${(item.tags || []).map((tag) => chip(tag, "tag"))}</td>
    </tr>`;
}

function pager(data, filters) {
  if (data.pages <= 1) return nothing;
  const link = (page, text, enabled) => enabled
    ? html`<a class="button" href=${"#/conversations?" + query({ ...filters, page })}>${text}</a>`
    : html`<span class="button disabled" aria-disabled="true">${text}</span>`;
  return html`
    <nav class="pager" aria-label="Pages">
      ${link(data.page - 1, "\u2190 Previous", data.page > 1)}
      <span>${"Page " + data.page + " of " + data.pages}</span>
      ${link(data.page + 1, "Next \u2192", data.page < data.pages)}
    </nav>`;
}
