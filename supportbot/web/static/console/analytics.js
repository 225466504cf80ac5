/* #/analytics?date_from=&date_to=: KPI tiles and three charts (per day, top intents, busiest UTC
 * hours) for whole UTC days; by default the last 30. Below them, what the latest insights run
 * found: customer segments (sizes over the last runs) and complaint themes with examples.
 * Chart.js is the vendored UMD build (window.Chart), loaded by the page before the console's
 * modules run. */

import { html, nothing } from "../vendor/lit-html/lit-html.js";
import { api } from "./api.js";
import { DASH, isoDay, percent, query, sentimentBand, signed } from "./format.js";
import { go } from "./router.js";
import { field, heading, message } from "./ui.js";

const BLUE = "#1f5fbf";

export function analyticsView(view, params) {
  let from = params.get("date_from") || "";
  let to = params.get("date_to") || "";
  let busy = true;
  let body = message("muted", "Loading analytics\u2026");
  let insights = nothing;

  function show(event) {
    event.preventDefault();
    const form = event.currentTarget;
    go("#/analytics?" + query({ date_from: form.elements.date_from.value, date_to: form.elements.date_to.value }));
  }

  function lastDays(days) {
    const end = new Date();
    const start = new Date(end.getTime() - (days - 1) * 86400000);
    go("#/analytics?" + query({ date_from: isoDay(start), date_to: isoDay(end) }));
  }

  const draw = () => view.show(html`
    ${heading("Analytics")}
    <form class="filters period" aria-label="Period" @submit=${show}>
      ${field("From", "period-from", (id) => html`<input id=${id} name="date_from" type="date" .value=${from}>`)}
      ${field("To", "period-to", (id) => html`<input id=${id} name="date_to" type="date" .value=${to}>`)}
      <div class="actions">
        <button type="submit" class="primary">Show</button>
        ${[7, 30, 90].map((days) => html`<button type="button" @click=${() => lastDays(days)}>${"Last " + days + " days"}</button>`)}
      </div>
    </form>
    <div class="analytics" aria-busy=${busy ? "true" : "false"}>${body}</div>
    ${insights}`);

  draw();
  view.focusHeading();

  api("GET", "/insights").then((data) => {
    if (!view.current()) return;
    insights = insightsSections(data);
    draw();
  }, (error) => {
    if (!view.current()) return;
    insights = message("error", "Could not load the customer insights: " + error.message);
    draw();
  });

  api("GET", "/analytics?" + query({ date_from: from, date_to: to })).then((data) => {
    if (!view.current()) return;
    from = data.period.from;
    to = data.period.to;
    busy = false;
    const Chart = window.Chart;
    body = [kpis(data), Chart ? charts(data) : message("error", "The charts library did not load.")];
    draw();
    if (Chart) drawCharts(view, Chart, data);
  }, (error) => {
    if (!view.current()) return;
    busy = false;
    body = message("error", "Could not load analytics: " + error.message);
    draw();
  });
}

function tile(label, value, note, extraClass) {
  return html`
    <div class=${"kpi" + (extraClass ? " " + extraClass : "")}>
      <span class="kpi-label">${label}</span>
      <span class="kpi-value">${value}</span>
      ${note ? html`<span class="kpi-note">${note}</span>` : nothing}
    </div>`;
}

function kpis(data) {
  const sentiment = data.average_sentiment;
  return html`
    <section class="kpis" aria-label="Key figures">
      ${tile("Conversations", data.conversations.toLocaleString(), data.period.from + " to " + data.period.to)}
      ${tile("Containment", percent(data.containment_rate), "solved without a person")}
      ${tile("Handoff rate", percent(data.handoff_rate), "passed to a person")}
      ${tile("Fallback rate", percent(data.fallback_rate), "the bot did not understand")}
      ${tile("Average sentiment", sentiment === null ? DASH : signed(sentiment), "from \u22121 to +1",
        sentiment === null ? "" : "sentiment-" + sentimentBand(sentiment))}
      ${tile("Average CSAT", data.average_csat === null ? DASH : data.average_csat.toFixed(2) + " / 5",
        data.csat_responses + (data.csat_responses === 1 ? " response" : " responses"))}
    </section>`;
}

/* Each canvas is labelled with the figures it draws, for those who cannot see it. */
function chartBox(id, title, label) {
  return html`
    <section class="panel chart">
      <h2>${title}</h2>
      <div class="chart-box"><canvas id=${id} role="img" aria-label=${label}></canvas></div>
    </section>`;
}

function charts(data) {
  const volume = data.volume || [];
  const topIntents = data.top_intents || [];
  const hours = data.busiest_hours || [];
  return html`
    <div class="charts">
      <div class="chart-wide">${chartBox("chart-volume", "Conversations per day", "Conversations per day: " +
        volume.map((v) => v.day + " " + v.conversations).join(", "))}</div>
      ${chartBox("chart-intents", "Top intents", "Top intents: " +
        topIntents.map((t) => t.intent + " " + t.conversations).join(", "))}
      ${chartBox("chart-hours", "Busiest hours (UTC)", "Conversations by hour (UTC): " +
        hours.filter((x) => x.conversations).map((x) => x.hour + ":00 " + x.conversations).join(", "))}
    </div>`;
}

function drawCharts(view, Chart, data) {
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.color = "#3d4653";
  const common = { responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { display: false } } };
  const counts = { beginAtZero: true, ticks: { precision: 0 } };
  const volume = data.volume || [];
  const topIntents = data.top_intents || [];
  const hours = data.busiest_hours || [];
  view.keepChart(new Chart(view.find("#chart-volume"), {
    type: "line",
    data: { labels: volume.map((v) => v.day),
      datasets: [{ label: "Conversations", data: volume.map((v) => v.conversations),
        borderColor: BLUE, backgroundColor: "rgba(31, 95, 191, 0.12)", fill: true,
        cubicInterpolationMode: "monotone", pointRadius: 2 }] },
    options: { ...common, scales: { y: counts, x: { ticks: { maxTicksLimit: 10 } } } }
  }));
  view.keepChart(new Chart(view.find("#chart-intents"), {
    type: "bar",
    data: { labels: topIntents.map((t) => t.intent),
      datasets: [{ label: "Conversations", data: topIntents.map((t) => t.conversations),
        backgroundColor: BLUE, borderRadius: 3 }] },
    options: { ...common, indexAxis: "y", scales: { x: counts } }
  }));
  view.keepChart(new Chart(view.find("#chart-hours"), {
    type: "bar",
    data: { labels: hours.map((x) => String(x.hour).padStart(2, "0")),
      datasets: [{ label: "Conversations", data: hours.map((x) => x.conversations),
        backgroundColor: "#2e8b57", borderRadius: 3 }] },
    options: { ...common, scales: { y: counts } }
  }));
}

const CENTROID_LABELS = {
  spend_last_year: "spend last year",
  orders_last_year: "orders last year",
  days_since_last_order: "days since last order",
  contacts_last_year: "contacts last year",
  mood: "mood",
};

/* Segments and complaint themes from the latest insights run (supportbot insights run). */
function insightsSections(data) {
  if (!data.run) {
    return html`<section class="panel"><h2>Customer insights</h2>
      <p class="muted">No insights run yet: run <code>supportbot insights run</code>.</p></section>`;
  }
  const runs = data.trend || [];
  return html`
    <section class="panel insights-segments">
      <h2>Customer segments</h2>
      <p class="muted small">Run ${data.run.id}, ${data.run.finished_at || ""}; sizes over the last ${runs.length} runs.</p>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Segment</th><th scope="col">Customers</th>
          ${Object.values(CENTROID_LABELS).map((label) => html`<th scope="col">${"Median " + label}</th>`)}
          <th scope="col">Trend</th></tr></thead>
        <tbody>${data.segments.map((segment) => html`
          <tr><th scope="row">${segment.label}</th><td>${segment.size}</td>
            ${Object.keys(CENTROID_LABELS).map((key) => html`<td>${segment.centroid[key] ?? DASH}</td>`)}
            <td>${runs.map((point) => point.sizes[segment.label] ?? 0).join(" \u2192 ")}</td></tr>`)}
        </tbody>
      </table></div>
    </section>
    <section class="panel insights-themes">
      <h2>Complaint themes</h2>
      ${data.themes.length ? html`
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">Theme</th><th scope="col">Mentions</th>
            <th scope="col">Last week vs before</th><th scope="col">Examples</th></tr></thead>
          <tbody>${data.themes.map((theme) => html`
            <tr><th scope="row">${theme.label}</th><td>${theme.volume}</td>
              <td>${(theme.change > 0 ? "+" : "") + theme.change.toFixed(1)}</td>
              <td><ul class="examples">${theme.examples.map((text) => html`<li>${text}</li>`)}</ul></td></tr>`)}
          </tbody>
        </table></div>` : html`<p class="muted">No complaint themes in the latest run.</p>`}
    </section>`;
}
