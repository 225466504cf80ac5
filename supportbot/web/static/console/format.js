/* Formatting for the console: dates and times in the agent's locale, rates, scores and query
 * strings. Plain functions of their arguments; nothing here touches the page. */

export const DASH = "\u2014";

/* Turn timestamps are Unix seconds; records carry ISO strings. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(d.getTime()) ? null : d;
}

export function dateTime(value) {
  const d = toDate(value);
  return d ? d.toLocaleString([], { year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit" }) : DASH;
}

export function clock(value) {
  const d = toDate(value);
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function day(value) {
  const d = toDate(value);
  return d ? d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" }) : DASH;
}

export function ago(value) {
  const d = toDate(value);
  if (!d) return "";
  const minutes = Math.max(0, Math.round((Date.now() - d.getTime()) / 60000));
  if (minutes < 1) return "less than a minute";
  if (minutes < 90) return minutes + (minutes === 1 ? " minute" : " minutes");
  const hours = Math.round(minutes / 60);
  return hours < 48 ? hours + " hours" : Math.round(hours / 24) + " days";
}

export function percent(rate) {
  return rate === null || rate === undefined ? DASH : (rate * 100).toFixed(1) + " %";
}

/* A score with its sign (a true minus) and two decimals. */
export function signed(score) {
  if (score === null || score === undefined) return "";
  return (score > 0 ? "+" : score < 0 ? "\u2212" : "") + Math.abs(score).toFixed(2);
}

/* The API's bands: negative < -0.25 <= neutral <= 0.25 < positive. */
export function sentimentBand(score) {
  if (score === null || score === undefined) return null;
  return score < -0.25 ? "negative" : score > 0.25 ? "positive" : "neutral";
}

export function outOfFive(value) {
  return typeof value === "number" ? value.toFixed(1) + " / 5" : DASH;
}

/* Analytics periods are whole UTC days, as the API counts them. */
export function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

/* A query string of the parameters that have a value. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  return search.toString();
}

export function unique(list) {
  return list.filter((item, i) => list.indexOf(item) === i);
}
