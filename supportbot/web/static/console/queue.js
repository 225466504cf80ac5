/* #/queue: conversations waiting for a person and those being handled, refreshed every 3 s, with
 * Claim; #/queue/<sender_id> adds the live chat of a claimed conversation (live-chat.js). */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { keyed } from "../vendor/lit-html/directives/keyed.js";
import { repeat } from "../vendor/lit-html/directives/repeat.js";
import { api } from "./api.js";
import { ago, clock, dateTime } from "./format.js";
import { liveChat } from "./live-chat.js";
import { go } from "./router.js";
import { session } from "./state.js";
import { chip, conversationHref, heading, message } from "./ui.js";

const QUEUE_POLL_MS = 3000;

export function queueView(view, chatId) {
  let items = null;      // the queue's last answer; null before the first
  let updated = "";
  let claiming = null;   // the sender id whose Claim is on its way
  let notice = null;     // {kind, text} above the lists
  let notices = 0;       // a new notice is a new element, so an alert is announced again
  if (session.flash) {
    notice = { kind: "ok", text: session.flash };
    session.flash = null;
  }

  function notify(kind, text) {
    notice = { kind, text };
    notices += 1;
    draw();
  }

  const chat = chatId ? liveChat(view, chatId, { notify, draw: () => draw() }) : null;

  function draw() {
    const open = items ? items.filter((i) => i.state === "waiting") : [];
    const taken = items ? items.filter((i) => i.state !== "waiting") : [];
    view.show(html`
      ${heading("Queue")}
      <div class="queue-alert">${notice ? keyed(notices, message(notice.kind, notice.text)) : nothing}</div>
      <div class=${"queue-columns" + (chat ? " with-chat" : "")}>
        <div class="queue-lists">
          <section class="panel">
            <h2>Waiting for a person <span class="count">${items ? "(" + open.length + ")" : ""}</span></h2>
            <ul class="queue-list" aria-label="Waiting for a person">${queueList(open,
              "Nobody is waiting for a person right now.")}</ul>
          </section>
          <section class="panel">
            <h2>Being handled <span class="count">${items ? "(" + taken.length + ")" : ""}</span></h2>
            <ul class="queue-list" aria-label="Being handled">${queueList(taken,
              "No conversation is being handled by a person.")}</ul>
          </section>
          <p class="muted small" aria-live="off">${updated}</p>
        </div>
        ${chat ? chat.template() : nothing}
      </div>`);
  }

  /* Rows are keyed by conversation: a refresh updates them in place (focus and all). */
  function queueList(list, emptyText) {
    if (!items) return nothing;
    if (!list.length) return html`<li class="muted empty-row">${emptyText}</li>`;
    return repeat(list, (item) => item.sender_id, queueItem);
  }

  function queueItem(item) {
    const who = item.customer ? item.customer.name : "Guest";
    const isMine = Boolean(item.agent && session.agent && item.agent.id === session.agent.id);
    const claimedBy = "Claimed by " + (isMine ? "you" : item.agent ? item.agent.name : "someone") +
      (item.claimed_at ? " at " + clock(item.claimed_at) : "");
    return html`
      <li class=${"queue-item" + (isMine ? " mine" : "")} data-sender-id=${item.sender_id}>
        <div class="queue-main">
          <strong>${who}</strong>${item.priority
            ? chip(String(item.priority), "priority priority-" + item.priority) : nothing}
          <p class="reason">${item.reason || ""}</p>
          ${item.state === "waiting"
            ? html`<p class="muted small">${waitingText(item.requested_at)}</p>`
            : html`<p class="muted small">${claimedBy}</p>`}
        </div>
        <div class="queue-controls">
          ${item.state === "waiting"
            ? html`<button type="button" class="primary" ?disabled=${claiming === item.sender_id}
                aria-label=${"Claim the conversation with " + who} @click=${() => claim(item)}>Claim</button>`
            : isMine ? html`<a class="button primary" href=${"#/queue/" + encodeURIComponent(item.sender_id)}>Open chat</a>`
              : nothing}
          <a class="button" href=${conversationHref(item.sender_id)}>Transcript</a>
        </div>
      </li>`;
  }

  async function claim(item) {
    claiming = item.sender_id;
    notice = null;
    draw();
    try {
      await api("POST", "/queue/" + encodeURIComponent(item.sender_id) + "/claim");
    } catch (error) {
      if (!view.current()) return;
      claiming = null;
      notify("error", error.status === 409
        ? "You cannot claim this conversation: " + error.message + "."
        : error.status === 404 ? "This conversation is no longer waiting for a person."
          : "Could not claim the conversation: " + error.message);
      refresh();
      return;
    }
    go("#/queue/" + encodeURIComponent(item.sender_id));
  }

  async function refresh() {
    try {
      const data = await api("GET", "/queue");
      if (!view.current()) return;
      items = data.items || [];
      updated = "Updated " + clock(Date.now() / 1000) + "; refreshes every " +
        QUEUE_POLL_MS / 1000 + " seconds.";
    } catch (error) {
      if (!view.current()) return;
      updated = "Could not refresh the queue: " + error.message;
    }
    draw();
  }

  draw();
  view.focusHeading();
  if (chat) chat.start();
  refresh();
  view.every(refresh, QUEUE_POLL_MS);
}

function waitingText(since) {
  return "Waiting " + ago(since) + " (since " + dateTime(since) + ")";
}
