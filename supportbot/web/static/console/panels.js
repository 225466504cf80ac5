/* The side panels of one conversation (transcript.js): the customer, the review and the tags.
 * The review and tags panels keep their own state and redraw the view when it changes. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { repeat } from "../vendor/lit-html/directives/repeat.js";
import { api } from "./api.js";
import { DASH, dateTime, day, outOfFive, percent, unique } from "./format.js";
import {
  REVIEW_STATUSES, chip, conversationHref, fact, field, headRow, options, sentimentChip
} from "./ui.js";

export function profilePanel(profile) {
  if (!profile) {
    return html`
      <section class="panel profile">
        <h2>Customer</h2>
        <p>${chip("guest", "muted")}</p>
        <p class="muted">The customer did not verify who they are in this conversation.</p>
      </section>`;
  }
  const c = profile.customer;
  const stats = profile.stats;
  const previous = profile.previous_conversations || [];
  return html`
    <section class="panel profile">
      <h2>Customer</h2>
      <p class="customer-name"><strong>${c.name}</strong> ${c.tier ? chip(c.tier, "tier tier-" + c.tier) : nothing}</p>
      <p class="muted">${c.email}</p>
      <dl class="mini">
        ${fact("Customer id", String(c.id))}
        ${fact("Value", c.value)}
        ${fact("Customer since", day(c.since))}
        ${fact("Conversations", String(stats.interaction_count))}
        ${fact("Handoffs", String(stats.handoff_count))}
        ${fact("Satisfaction", outOfFive(stats.satisfaction_average))}
        ${fact("CSAT average", outOfFive(stats.csat_average))}
        ${fact("Recent sentiment", stats.sentiment_history.length
          ? html`<span class="chips">${stats.sentiment_history.slice(-5).map((score) =>
            sentimentChip(null, score))}</span>` : DASH)}
      </dl>
      ${insightsSection(profile.insights)}
      <h3>Latest orders</h3>
      ${miniTable(profile.orders, ["Order", "Status", "Total", "Placed"],
        (o) => [o.reference, o.status, String(o.total), day(o.placed_at)], "No orders.")}
      <h3>Tickets</h3>
      ${miniTable(profile.tickets, ["Ticket", "Subject", "Status", "Priority"],
        (t) => [t.reference, t.subject, t.status, t.priority], "No tickets.")}
      <h3>Previous conversations</h3>
      ${previous.length ? html`
        <ul class="previous">${previous.map((p) => html`
          <li><a href=${conversationHref(p.sender_id)}>${dateTime(p.started_at)}</a> <span
            class="muted">${[p.outcome, unique(p.intents || []).slice(0, 3).join(", ")]
              .filter(Boolean).join(" \u00b7 ")}</span></li>`)}
        </ul>` : html`<p class="muted">None before this one.</p>`}
    </section>`;
}

/* What the nightly insights run predicted, each figure with the reasons behind it. */
function insightsSection(insights) {
  if (!insights) {
    return html`<h3>Insights</h3><p class="muted">No insights run yet (supportbot insights run).</p>`;
  }
  const reasons = insights.reasons || {};
  const because = (key, title) => (reasons[key] || []).length
    ? html`<p class="small muted">${title}</p>
      <ul class="reasons">${reasons[key].map((r) => html`<li>${r}</li>`)}</ul>` : nothing;
  return html`
    <h3>Insights <span class="muted small">as of ${day(insights.computed_at)}</span></h3>
    <dl class="mini insights">
      ${fact("Segment", insights.segment ? chip(insights.segment, "segment") : DASH)}
      ${fact("Churn risk", percent(insights.churn_risk))}
      ${fact("Expected value", insights.expected_value == null ? DASH : insights.expected_value)}
      ${fact("Predicted satisfaction", outOfFive(insights.predicted_satisfaction))}
    </dl>
    ${because("churn", "Why this churn risk")}${because("segment", "Why this segment")}
    ${because("satisfaction", "Why this satisfaction")}
    ${(insights.next_products || []).length ? html`<p class="small muted">Next-best products</p>
      <ul class="reasons">${insights.next_products.map((p) => html`<li><strong>${p.name}</strong>: ${p.reason}</li>`)}</ul>` : nothing}`;
}

function miniTable(rows, head, cells, empty) {
  if (!rows || !rows.length) return html`<p class="muted">${empty}</p>`;
  return html`
    <div class="table-wrap">
      <table class="mini-table">
        ${headRow(head)}
        <tbody>${rows.map((r) => html`<tr>${cells(r).map((text) => html`<td>${text}</td>`)}</tr>`)}</tbody>
      </table>
    </div>`;
}

function reviewedBy(review) {
  if (!review || !review.updated_at) return "Not reviewed yet.";
  return "Last saved " + dateTime(review.updated_at) +
    (review.updated_by ? " by " + review.updated_by.name : "") + ".";
}

/* Review status and notes; the form keeps what the agent types, the status line says what
 * happened to the last save. */
export function reviewPanel(path, record, review, draw) {
  const status = (review && review.status) || record.review_status;
  const notes = (review && review.notes) || record.notes || "";
  let info = { className: "muted small", text: reviewedBy(review) };
  let busy = false;

  async function save(event) {
    event.preventDefault();
    const form = event.currentTarget;
    busy = true;
    draw();
    try {
      const saved = await api("PUT", path + "/review",
        { status: form.elements.status.value, notes: form.elements.notes.value });
      info = { className: "ok small", text: "Saved. " + reviewedBy(saved) };
    } catch (error) {
      info = { className: "error small", text: "Not saved: " + error.message };
    }
    busy = false;
    draw();
  }

  const template = () => html`
    <form class="panel review" aria-label="Review" @submit=${save}>
      <h2>Review</h2>
      ${field("Status", "review-status", (id) => html`<select id=${id} name="status">${options(
        REVIEW_STATUSES, status)}</select>`)}
      ${field("Notes", "review-notes", (id) => html`<textarea id=${id} name="notes" rows="4"
        maxlength="5000" .value=${notes}></textarea>`)}
      <button type="submit" class="primary" ?disabled=${busy}>Save review</button>
      <p class=${info.className} role="status">${info.text}</p>
    </form>`;
  return { template };
}

/* The conversation's tags, each with a remove button, and a form to add one. */
export function tagsPanel(path, initialTags, draw) {
  let tags = initialTags;
  let info = { className: "small", text: "" };
  const base = path + "/tags/";

  async function change(method, tag) {
    info = { className: "small muted", text: "" };
    draw();
    try {
      const data = await api(method, base + encodeURIComponent(tag));
      tags = data.tags;
      info = { className: "small muted", text: method === "POST" ? "Tag added." : "Tag removed." };
      return true;
    } catch (error) {
      info = { className: "small error", text: error.message };
      return false;
    } finally {
      draw();
    }
  }

  async function add(event) {
    event.preventDefault();
    const input = event.currentTarget.elements.tag;
    const tag = input.value.trim().toLowerCase();
    if (!tag) return;
    if (await change("POST", tag)) input.value = "";
  }

  const template = () => html`
    <section class="panel tags">
      <h2>Tags</h2>
      <ul class="tag-list" aria-label="Tags">${tags.length
        ? repeat(tags, (tag) => tag, (tag) => html`<li>${chip(tag, "tag")}<button type="button"
          class="remove" aria-label=${"Remove tag " + tag} title="Remove tag"
          @click=${() => change("DELETE", tag)}>\u00d7</button></li>`)
        : html`<li class="muted">No tags yet.</li>`}</ul>
      <form class="add-tag" @submit=${add}>
        ${field("New tag", "new-tag", (id) => html`<input id=${id} name="tag" type="text"
          maxlength="40" placeholder="e.g. billing">`)}
        <button type="submit">Add tag</button>
      </form>
      <p class=${info.className} role="status">${info.text}</p>
    </section>`;
  return { template };
}

/* Erasure on the customer's request: a button opens a modal dialog that says what will happen
 * and asks for the reason (required, audited); `onErased(report)` runs once it is done. */
export function erasurePanel(customer, draw, onErased) {
  let info = { className: "small", text: "" };
  let busy = false;

  function open(event) {
    info = { className: "small", text: "" };
    draw();
    event.currentTarget.closest("section").querySelector("dialog").showModal();
  }

  async function erase(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const reason = form.elements.reason.value.trim();
    if (!reason) {
      info = { className: "small error", text: "Say why the customer is erased." };
      draw();
      return;
    }
    busy = true;
    draw();
    try {
      const report = await api("POST", "/customers/" + encodeURIComponent(customer.id) + "/erasure",
        { reason });
      form.closest("dialog").close();
      onErased(report);
    } catch (error) {
      info = { className: "small error", text: "Not erased: " + error.message };
    } finally {
      busy = false;
      draw();
    }
  }

  const template = () => html`
    <section class="panel erasure">
      <h2>Personal data</h2>
      <p class="muted small">Erase this customer when they ask to be forgotten.</p>
      <button type="button" class="danger" @click=${open}>Erase customer\u2026</button>
      <dialog aria-labelledby="erasure-title">
        <form @submit=${erase}>
          <h2 id="erasure-title">${"Erase " + customer.name + "?"}</h2>
          <p>Every conversation of this customer is deleted with its transcript, notes and tags.
            Their name, email, phone and addresses are removed. Orders and invoices stay as
            anonymised records: tax law requires keeping them. This cannot be undone.</p>
          ${field("Reason (kept in the audit trail)", "erasure-reason", (id) => html`<textarea
            id=${id} name="reason" rows="3" maxlength="300" required></textarea>`)}
          <p class=${info.className} role="status">${info.text}</p>
          <p class="actions"><button type="button"
            @click=${(e) => e.currentTarget.closest("dialog").close()}>Cancel</button><button
            type="submit" class="danger" ?disabled=${busy}>Erase customer</button></p>
        </form>
      </dialog>
    </section>`;
  return { template };
}
