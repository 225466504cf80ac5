/* The live chat of a claimed conversation, beside the queue (#/queue/<sender_id>): the messages,
 * polled every 2 s; a reply (Enter sends, Shift+Enter starts a new line); "Hand back to the bot". */

import { html } from "../vendor/lit-html/lit-html.js";
import { api, conversationPath } from "./api.js";
import { clock } from "./format.js";
import { go } from "./router.js";
import { session } from "./state.js";
import { conversationHref, field } from "./ui.js";

const LIVE_POLL_MS = 2000;

/* queue: {notify(kind, text), draw()} of the queue view the chat is part of. */
export function liveChat(view, senderId, queue) {
  const path = conversationPath(senderId);
  const messages = [];
  let shown = 0;          // the conversation's messages so far, as the API counts them
  let inFlight = null;    // the poll on its way: a second one would fetch the same messages
  let status = "";
  let sending = false;
  let handingBack = false;

  const reply = () => view.find("#live-reply");

  function poll() {
    if (!inFlight) inFlight = fetchNew().finally(() => { inFlight = null; });
    return inFlight;
  }

  async function fetchNew() {
    try {
      const data = await api("GET", path + "/live?after=" + shown);
      if (!view.current()) return;
      messages.push(...data.messages);
      shown = data.total;
      status = data.paused ? "" : "The bot is answering this conversation again.";
      queue.draw();
      if (data.messages.length) {
        const log = view.find(".live-log");
        if (log) log.scrollTop = log.scrollHeight;
      }
    } catch (error) {
      if (!view.current()) return;
      status = "Could not refresh the chat: " + error.message;
      queue.draw();
    }
  }

  async function sendReply() {
    const box = reply();
    const text = box ? box.value.trim() : "";
    if (!text || sending) return;
    sending = true;
    queue.draw();
    try {
      await api("POST", path + "/messages", { text });
      box.value = "";
      if (inFlight) await inFlight;  // it may have asked before the reply was stored
      await poll();
    } catch (error) {
      queue.notify("error", "Your reply was not sent: " + error.message);
    }
    sending = false;
    queue.draw();
    box.focus();
  }

  function keydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply();
    }
  }

  async function handBack() {
    handingBack = true;
    queue.draw();
    try {
      await api("POST", "/queue/" + encodeURIComponent(senderId) + "/release");
    } catch (error) {
      handingBack = false;
      queue.notify("error", "Could not hand back: " + error.message);
      return;
    }
    session.flash = "The conversation is back with the bot.";
    go("#/queue");
  }

  const template = () => html`
    <section class="panel live" aria-labelledby="live-title">
      <div class="live-head"><h2 id="live-title">Live chat</h2><a href="#/queue" class="button">Close</a></div>
      <p class="small"><a href=${conversationHref(senderId)}>Full transcript with NLU details</a></p>
      <ol class="live-log" role="log" aria-live="polite" aria-label="Live conversation">${messages.map(line)}</ol>
      <p class="muted small" role="status">${status}</p>
      <form class="reply" @submit=${(event) => { event.preventDefault(); sendReply(); }}>
        ${field("Your reply", "live-reply", (id) => html`<textarea id=${id} name="reply" rows="2"
          maxlength="1000" placeholder="Type a reply; Enter sends, Shift+Enter starts a new line"
          @keydown=${keydown}></textarea>`)}
        <div class="actions">
          <button type="submit" class="primary" ?disabled=${sending}>Send</button>
          <button type="button" ?disabled=${handingBack} @click=${handBack}>Hand back to the bot</button>
        </div>
      </form>
    </section>`;

  /* Starts polling once the chat is on screen. */
  function start() {
    poll();
    view.every(poll, LIVE_POLL_MS);
    setTimeout(() => { if (view.current()) reply()?.focus(); }, 0);
  }

  return { template, start };
}

function line(msg) {
  const kind = msg.notice ? "notice" : msg.sender;
  if (kind === "notice") return html`<li class="turn turn-notice">${msg.text}</li>`;
  const who = kind === "customer" ? "Customer" : kind === "agent" ? msg.agent_name || "Agent" : "Assistant";
  return html`
    <li class=${"turn turn-" + kind}>
      <div class="turn-head"><strong>${who}</strong><time>${clock(msg.timestamp)}</time></div>
      <p class="turn-text">${msg.text}</p>
    </li>`;
}
