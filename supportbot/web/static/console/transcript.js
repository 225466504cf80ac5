/* #/conversations/<sender_id>: the transcript, each customer message with what the bot made of
 * it (intent and confidence, entities, sentiment, the actions it ran) and "Mark as training
 * data"; the bot's decisions where they happened; the customer panel, review, tags and export;
 * erasing the customer on request. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { API, api, conversationPath, intents } from "./api.js";
import { DASH, clock, dateTime, toDate } from "./format.js";
import { erasurePanel, profilePanel, reviewPanel, tagsPanel } from "./panels.js";
import { session } from "./state.js";
import { chip, fact, heading, message, options, sentimentChip } from "./ui.js";

export function transcriptView(view, senderId) {
  const path = conversationPath(senderId);
  let loaded = null;     // {data, review, intentNames} once the conversation is in
  let failure = null;    // the error message instead
  const training = [];   // turn index -> {state, text, busy} of its "Mark as training data" form
  const panels = { review: null, tags: null, erasure: null };
  let erased = null;     // what erasing the customer did, shown once the view has reloaded

  const draw = () => {
    const record = loaded && loaded.data.conversation;
    const title = !record ? "Conversation"
      : record.customer ? "Conversation with " + record.customer.name : "Guest conversation";
    view.show(html`
      <a class="back" href=${session.listHash}>\u2190 All conversations</a>
      ${heading(title)}
      ${erased ? message("ok", erasedSummary(erased)) : nothing}
      ${failure ? message("error", failure)
        : loaded ? conversation() : message("muted", "Loading the conversation\u2026")}`);
  };

  function conversation() {
    const { data, intentNames } = loaded;
    const record = data.conversation;
    return html`
      <dl class="facts">
        ${fact("Started", dateTime(record.started_at))}
        ${fact("Conversation id", html`<code>${senderId}</code>`)}
        ${fact("Outcome", record.outcome || "open")}
        ${fact("Handoff", record.handoff ? "Yes" : "No")}
        ${fact("Sentiment", record.sentiment_average == null ? DASH
          : sentimentChip(record.sentiment, record.sentiment_average))}
        ${fact("CSAT", record.csat_rating ? record.csat_rating + " / 5" +
          (record.csat_comment ? " \u201c" + record.csat_comment + "\u201d" : "") : DASH)}
      </dl>
      <div class="conversation">
        <section class="transcript" aria-labelledby="transcript-title">
          <h2 id="transcript-title">Transcript</h2>
          ${transcript(data, intentNames)}
        </section>
        <aside class="side" aria-label="Customer and review">
          ${profilePanel(data.profile)}
          ${panels.erasure ? panels.erasure.template() : nothing}
          ${panels.review.template()}
          ${panels.tags.template()}
          <section class="panel">
            <h2>Export</h2>
            <p class="exports"><a class="button" download href=${API + path + "/export?format=json"}>Export JSON</a><a
              class="button" download href=${API + path + "/export?format=csv"}>Export CSV</a></p>
          </section>
        </aside>
      </div>`;
  }

  /* Every turn with what the bot made of it; null while Rasa cannot be reached. */
  function transcript(data, intentNames) {
    const turns = data.turns;
    if (!turns) {
      return message("error", "The transcript is not available right now: the assistant " +
        "cannot be reached. The CRM record is shown.");
    }
    if (!turns.length) return message("empty", "This conversation has no messages yet.");
    const items = turns.map((turn, index) => ({ at: toDate(turn.timestamp),
      template: turnItem(turn, index, intentNames) }));
    // Decisions slot in where they happened; without a time they go at the end.
    for (const decision of data.decisions || []) {
      const at = toDate(decision.at);
      const item = { at, template: decisionItem(decision) };
      const index = at ? items.findIndex((other) => other.at && other.at > at) : -1;
      if (index < 0) items.push(item);
      else items.splice(index, 0, item);
    }
    return html`<ol class="turns">${items.map((item) => item.template)}</ol>`;
  }

  function turnItem(turn, index, intentNames) {
    const kind = turn.kind;
    if (kind === "notice") {
      return html`<li class="turn turn-notice"><span>${turn.text}</span>${turn.timestamp
        ? html`<time>${" \u00b7 " + clock(turn.timestamp)}</time>` : nothing}</li>`;
    }
    const who = kind === "customer" ? "Customer"
      : kind === "agent" ? "Agent" + (turn.agent_name ? " " + turn.agent_name : "") : "Assistant";
    return html`
      <li class=${"turn turn-" + kind}>
        <div class="turn-head"><strong>${who}</strong><time>${clock(turn.timestamp)}</time></div>
        <p class="turn-text">${turn.text}</p>
        ${turn.buttons && turn.buttons.length ? html`<p class="chips quick"><span
          class="muted">Quick replies:</span>${turn.buttons.map((b) => chip(b.title, "button-chip"))}</p>`
          : nothing}
        ${kind === "customer" ? [nluDetails(turn), trainingForm(turn, index, intentNames)] : nothing}
      </li>`;
  }

  function trainingForm(turn, index, intentNames) {
    const status = training[index] || { state: "", text: "", busy: false };
    const id = "train-" + index;
    const submit = async (event) => {
      event.preventDefault();
      const intent = event.currentTarget.elements.intent.value;
      const show = (state, text, busy) => {
        training[index] = { state, text, busy };
        draw();
      };
      if (!intent) {
        show("error", "Choose the intent this message should have.", false);
        return;
      }
      show("muted", "Saving\u2026", true);
      try {
        const data = await api("POST", path + "/training-examples", { text: turn.text, intent });
        const file = String(data.file).split("/").pop();
        show("ok", (data.added === false ? "Already an example of " : "Added as an example of ") +
          intent + " (" + file + ": " + data.examples + " examples to review).", false);
      } catch (error) {
        show("error", "Not saved: " + error.message, false);
      }
    };
    return html`<form class="training" aria-label="Mark as training data" @submit=${submit}><label
      for=${id} class="small">Intent</label><select id=${id} name="intent">${options(
        [["", "Choose an intent"], ...intentNames], intentNames.includes(turn.intent) ? turn.intent : "")}</select><button
      type="submit" ?disabled=${status.busy}>Mark as training data</button><span
      class=${"training-status" + (status.state ? " " + status.state : "")} role="status">${status.text}</span></form>`;
  }

  function load() {
    return Promise.all([
      api("GET", path),
      api("GET", path + "/review").catch(() => null),
      intents().catch(() => [])
    ]).then(([data, review, intentNames]) => {
      if (!view.current()) return;
      loaded = { data, review, intentNames };
      panels.review = reviewPanel(path, data.conversation, review, draw);
      panels.tags = tagsPanel(path, data.conversation.tags || [], draw);
      panels.erasure = data.profile
        ? erasurePanel(data.profile.customer, draw, (report) => {
          erased = report;
          load();
        })
        : null;
      draw();
    }, (error) => {
      if (!view.current()) return;
      failure = error.status === 404 ? "There is no conversation with this id."
        : "Could not load the conversation: " + error.message;
      draw();
    });
  }

  draw();
  view.focusHeading();
  load();
}

function erasedSummary(report) {
  const deleted = report.deleted || {};
  return "Customer " + report.customer_id + " erased: " + report.conversations +
    " conversation(s), " + (deleted["tracker events"] || 0) + " transcript events deleted; " +
    "orders and invoices kept as anonymised records.";
}

function nluDetails(turn) {
  const confidence = typeof turn.confidence === "number"
    ? " " + (turn.confidence * 100).toFixed(1) + " %" : "";
  return html`<div class="nlu">${chip((turn.intent || "no intent") + confidence, "intent",
    "Intent and confidence")}${(turn.entities || []).map((entity) => chip(
    entity.entity + (entity.role ? " (" + entity.role + ")" : "") + "=" + entity.value, "entity",
    "Entity"))}${turn.sentiment ? sentimentChip(turn.sentiment.label, turn.sentiment.score)
    : chip("no sentiment", "muted")}${turn.actions && turn.actions.length ? html`<span
    class="actions-run"><span class="muted">Bot ran </span>${turn.actions.map((name, i) =>
    html`${i ? " \u2192 " : ""}<code>${name}</code>`)}</span>` : nothing}</div>`;
}

function decisionItem(decision) {
  const details = decision.details || {};
  const keys = Object.keys(details);
  return html`
    <li class="turn turn-decision">
      <div class="turn-head"><strong>${"Decision: " + decision.kind}</strong><time>${clock(decision.at)}</time></div>
      <p class="turn-text">${decision.reason}</p>
      ${keys.length ? html`<p class="chips">${keys.map((key) => {
        const value = details[key];
        return chip(key + "=" + (typeof value === "object" ? JSON.stringify(value) : String(value)),
          "detail");
      })}</p>` : nothing}
    </li>`;
}
