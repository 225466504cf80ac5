/* #/privacy: the privacy policy as the server applies it, read-only (GET /privacy): how long
 * conversations are kept, the tag that keeps one, what is masked before storage, and the
 * retention job's last run. Everything drawn goes through lit-html, which escapes it. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { api } from "./api.js";
import { DASH, dateTime } from "./format.js";
import { chip, fact, heading, message } from "./ui.js";

const ENTITY_NAMES = {
  EMAIL_ADDRESS: "email addresses", PHONE_NUMBER: "phone numbers", CREDIT_CARD: "card numbers",
  IBAN_CODE: "IBANs", PERSON: "names", STREET_ADDRESS: "street addresses"
};

export function privacyView(view) {
  const draw = (body) => view.show(html`${heading("Privacy")}${body}`);
  draw(message("muted", "Loading the privacy policy\u2026"));
  view.focusHeading();
  api("GET", "/privacy").then((policy) => {
    if (view.current()) draw(panel(policy));
  }, (error) => {
    if (view.current()) draw(message("error", "Could not load the privacy policy: " + error.message));
  });
}

function schedule(hours) {
  return hours ? "every " + hours + " h while the stack runs, and at its start"
    : "only when an operator runs it (supportbot retention run)";
}

function panel(policy) {
  const masked = policy.masked_entities;
  return html`
    <section class="panel" aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      <dl class="facts">
        ${fact("Conversations kept", policy.retention_days + " days after their last activity")}
        ${fact("Kept longer", html`conversations tagged ${chip(policy.keep_tag)}`)}
        ${fact("Retention job", schedule(policy.retention_interval_hours))}
      </dl>
      ${lastRun(policy.last_run)}
    </section>
    <section class="panel" aria-labelledby="masking-title">
      <h2 id="masking-title">Masked before storage</h2>
      <p>In transcripts, the CRM's free text, exports and the review file:
        ${masked.length ? masked.map((entity) => chip(ENTITY_NAMES[entity] || entity)) : "nothing"}</p>
    </section>`;
}

function lastRun(run) {
  if (!run) return message("muted", "The retention job has not run yet.");
  if (!run.succeeded) {
    return message("error", "The last retention run, " + dateTime(run.at) + ", failed (" +
      (run.error || "unknown error") + "); it is tried again at the next run.");
  }
  const count = (value) => (value === null || value === undefined ? DASH : value.toLocaleString());
  return html`
    <h3>Last run</h3>
    <dl class="facts">
      ${fact("When", dateTime(run.at))}
      ${fact("By", run.by === "schedule" ? "the schedule" : run.by === "cli" ? "the command line" : run.by)}
      ${fact("Expired", count(run.expired))}
      ${fact("Erased", count(run.erased))}
      ${fact("Kept (tagged)", count(run.kept))}
      ${run.cutoff ? fact("Last activity before", dateTime(run.cutoff)) : nothing}
    </dl>`;
}
