/* supportbot agent console: sign-in, conversations, transcripts, the live queue and analytics.
 * One page; views by hash route (#/conversations?filters, #/conversations/<id>, #/queue,
 * #/queue/<id>, #/analytics?period). Everything shown is built with createElement/textContent:
 * customer text, agent names, tags, notes and entity values are attacker-controlled.
 */
(function () {
  "use strict";

  var API = "/api/console";
  var QUEUE_POLL_MS = 3000;
  var LIVE_POLL_MS = 2000;
  var PAGE_SIZE = 25;
  var FILTERS = ["q", "date_from", "date_to", "intent", "sentiment", "handoff", "csat",
    "review_status", "tag", "customer"];
  var REVIEW_STATUSES = [["new", "New"], ["reviewed", "Reviewed"],
    ["needs_training_data", "Needs training data"]];

  var state = {
    agent: null,
    intents: null,        // a promise of the domain's intent names, fetched once per sign-in
    generation: 0,        // bumped on every route change: late answers of old views are dropped
    timers: [],
    charts: [],
    listHash: "#/conversations",
    flash: null           // a confirmation to show on the next view
  };

  var view = document.getElementById("view");
  var top = document.getElementById("top");
  var login = document.getElementById("login");
  var loginForm = document.getElementById("login-form");
  var loginError = document.getElementById("login-error");

  // --- DOM helpers -------------------------------------------------------------------------

  /* h("a", {href: "#/x", class: "y", onclick: fn}, "text", child, [more]) */
  function h(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "value") node.value = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    append(node, Array.prototype.slice.call(arguments, 2));
    return node;
  }

  function append(node, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) append(node, child);
      else node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  }

  var uid = 0;
  function nextId(prefix) { uid += 1; return prefix + "-" + uid; }

  /* A labelled control: [label, control]; the control gets an id if it has none. */
  function field(labelText, control, extraClass) {
    if (!control.id) control.id = nextId("f");
    return h("div", { class: "field" + (extraClass ? " " + extraClass : "") },
      h("label", { for: control.id, text: labelText }), control);
  }

  function select(name, options, current) {
    var node = h("select", { name: name });
    options.forEach(function (option) {
      var value = Array.isArray(option) ? option[0] : option;
      var label = Array.isArray(option) ? option[1] : option;
      node.appendChild(h("option", { value: value, text: label }));
    });
    node.value = current || "";
    return node;
  }

  function message(kind, text) {
    return h("p", { class: kind, role: kind === "error" ? "alert" : "status", text: text });
  }

  function chip(text, extraClass, title) {
    return h("span", { class: "chip" + (extraClass ? " " + extraClass : ""), text: text,
      title: title });
  }

  function conversationHref(senderId) {
    return "#/conversations/" + encodeURIComponent(senderId);
  }

  // --- formatting --------------------------------------------------------------------------

  /* Turn timestamps are Unix seconds; records carry ISO strings. */
  function toDate(value) {
    if (value === null || value === undefined || value === "") return null;
    var d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }

  function dateTime(value) {
    var d = toDate(value);
    return d ? d.toLocaleString([], { year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit" }) : "\u2014";
  }

  function clock(value) {
    var d = toDate(value);
    return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
      : "";
  }

  function day(value) {
    var d = toDate(value);
    return d ? d.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" })
      : "\u2014";
  }

  function ago(value) {
    var d = toDate(value);
    if (!d) return "";
    var minutes = Math.max(0, Math.round((Date.now() - d.getTime()) / 60000));
    if (minutes < 1) return "less than a minute";
    if (minutes < 90) return minutes + (minutes === 1 ? " minute" : " minutes");
    var hours = Math.round(minutes / 60);
    return hours < 48 ? hours + " hours" : Math.round(hours / 24) + " days";
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "\u2014" : (rate * 100).toFixed(1) + " %";
  }

  function signed(score) {
    if (score === null || score === undefined) return "";
    return (score > 0 ? "+" : score < 0 ? "\u2212" : "") + Math.abs(score).toFixed(2);
  }

  function sentimentBand(score) {
    if (score === null || score === undefined) return null;
    return score < -0.25 ? "negative" : score > 0.25 ? "positive" : "neutral";
  }

  function sentimentChip(label, score) {
    if (!label && (score === null || score === undefined)) return chip("no sentiment", "muted");
    label = label || sentimentBand(score);
    var text = label + (score === null || score === undefined ? "" : " " + signed(score));
    return chip(text, "sentiment sentiment-" + (sentimentBand(score) || label),
      "Sentiment " + text);
  }

  /* Analytics periods are whole UTC days, as the API counts them. */
  function isoDay(d) {
    return d.toISOString().slice(0, 10);
  }

  // --- the API -----------------------------------------------------------------------------

  function ApiError(status, text) {
    this.status = status;
    this.message = text;
  }

  /* JSON in and out; a 401 anywhere ends the session in the page and shows the login form. */
  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(API + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && path !== "/login") {
          signedOut(state.agent ? "Your session has ended. Please sign in again." : null);
        }
        if (!response.ok) {
          throw new ApiError(response.status, data.error || "The console could not do that (" +
            response.status + ").");
        }
        return data;
      });
    }, function () {
      throw new ApiError(0, "The console cannot reach the server. Check your connection.");
    });
  }

  function intents() {
    if (!state.intents) {
      state.intents = api("GET", "/intents").then(function (data) {
        return data.intents || [];
      }, function (error) {
        state.intents = null;  // try again next time
        throw error;
      });
    }
    return state.intents;
  }

  function query(params) {
    var search = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== "") {
        search.set(key, params[key]);
      }
    });
    return search.toString();
  }

  // --- signing in and out ------------------------------------------------------------------

  function stopViewWork() {
    state.generation += 1;
    state.timers.forEach(function (timer) { clearInterval(timer); });
    state.timers = [];
    state.charts.forEach(function (chart) { chart.destroy(); });
    state.charts = [];
  }

  function signedOut(text) {
    var wasSignedIn = state.agent !== null;
    state.agent = null;
    state.intents = null;
    stopViewWork();
    view.replaceChildren();
    top.hidden = true;
    login.hidden = false;
    loginError.hidden = !text;
    loginError.textContent = text || "";
    if (wasSignedIn || !text) document.getElementById("login-email").focus();
  }

  function signedIn(agent) {
    state.agent = agent;
    document.getElementById("agent-name").textContent = agent.name;
    login.hidden = true;
    loginError.hidden = true;
    top.hidden = false;
    route();
  }

  loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = loginForm.elements.email.value.trim();
    var password = loginForm.elements.password.value;
    if (!email || !password) {
      loginError.textContent = "Enter your email address and your password.";
      loginError.hidden = false;
      return;
    }
    var button = loginForm.querySelector("button");
    button.disabled = true;
    api("POST", "/login", { email: email, password: password }).then(function (data) {
      loginForm.elements.password.value = "";
      signedIn(data.agent);
    }, function (error) {
      loginError.textContent = error.status === 401
        ? "Sign-in failed: wrong email or password, or this agent account is disabled."
        : error.message;
      loginError.hidden = false;
      loginForm.elements.password.select();
    }).then(function () { button.disabled = false; });
  });

  document.getElementById("sign-out").addEventListener("click", function () {
    api("POST", "/logout").then(function () { signedOut(null); }, function () {
      signedOut(null);
    });
  });

  // --- routing -----------------------------------------------------------------------------

  function route() {
    if (!state.agent) return;
    stopViewWork();
    var hash = location.hash || "#/conversations";
    var at = hash.indexOf("?");
    var path = (at < 0 ? hash : hash.slice(0, at)).replace(/^#\/?/, "").split("/");
    var params = new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
    var id = null;
    try { id = path[1] ? decodeURIComponent(path[1]) : null; } catch (e) { id = null; }
    var section = path[0] || "conversations";
    document.querySelectorAll("[data-nav]").forEach(function (link) {
      if (link.getAttribute("data-nav") === section) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    view.replaceChildren();
    var generation = state.generation;
    var current = function () { return generation === state.generation && state.agent; };
    if (section === "conversations" && id) transcriptView(id, current);
    else if (section === "conversations") { state.listHash = hash; conversationsView(params, current); }
    else if (section === "queue") queueView(id, current);
    else if (section === "analytics") analyticsView(params, current);
    else view.appendChild(message("error", "There is no such page in the console."));
  }

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  /* The view's title; it takes the focus after a route change, so screen readers follow. */
  function heading(text) {
    return h("h1", { tabindex: "-1", text: text });
  }

  function focusHeading() {
    var node = view.querySelector("h1");
    if (node && document.activeElement === document.body) node.focus({ preventScroll: true });
  }

  window.addEventListener("hashchange", route);

  // --- conversations list ------------------------------------------------------------------

  function conversationsView(params, current) {
    var filters = {};
    FILTERS.forEach(function (key) { filters[key] = params.get(key) || ""; });
    var page = Math.max(1, parseInt(params.get("page"), 10) || 1);

    var intentSelect = select("intent", [["", "Any intent"]].concat(
      filters.intent ? [filters.intent] : []), filters.intent);
    intents().then(function (names) {
      if (!current()) return;
      intentSelect.replaceChildren(h("option", { value: "", text: "Any intent" }));
      names.forEach(function (name) { intentSelect.appendChild(h("option", { value: name, text: name })); });
      intentSelect.value = filters.intent;
    }, function () { /* the list still works with "Any intent" */ });

    var form = h("form", { class: "filters", "aria-label": "Filter conversations" },
      field("Search", h("input", { name: "q", type: "search", value: filters.q,
        placeholder: "id, customer, note or tag", maxlength: "200" }), "wide"),
      field("From", h("input", { name: "date_from", type: "date", value: filters.date_from })),
      field("To", h("input", { name: "date_to", type: "date", value: filters.date_to })),
      field("Intent", intentSelect),
      field("Sentiment", select("sentiment", [["", "Any"], ["negative", "Negative"],
        ["neutral", "Neutral"], ["positive", "Positive"]], filters.sentiment)),
      field("Handoff", select("handoff", [["", "Any"], ["true", "Handed off"],
        ["false", "Not handed off"]], filters.handoff)),
      field("CSAT", select("csat", [["", "Any"], ["rated", "Rated"], ["unrated", "Not rated"],
        ["5", "5"], ["4", "4"], ["3", "3"], ["2", "2"], ["1", "1"]], filters.csat)),
      field("Review", select("review_status", [["", "Any"]].concat(REVIEW_STATUSES),
        filters.review_status)),
      field("Tag", h("input", { name: "tag", type: "text", value: filters.tag, maxlength: "40" })),
      field("Customer", h("input", { name: "customer", type: "text", value: filters.customer,
        placeholder: "id or email", maxlength: "254" })),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", text: "Apply filters" }),
        h("button", { type: "button", text: "Clear", onclick: function () { go("#/conversations"); } })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = {};
      FILTERS.forEach(function (key) { chosen[key] = form.elements[key].value.trim(); });
      var qs = query(chosen);
      go("#/conversations" + (qs ? "?" + qs : ""));
    });

    var results = h("section", { class: "results", "aria-live": "polite", "aria-busy": "true" },
      message("muted", "Loading conversations\u2026"));
    append(view, [heading("Conversations"), form, results]);
    focusHeading();

    var listQuery = query(Object.assign({}, filters, { page: page, page_size: PAGE_SIZE }));
    api("GET", "/conversations?" + listQuery).then(function (data) {
      if (!current()) return;
      results.replaceChildren();
      append(results, [summary(data, filters), data.total ? table(data.items) :
        message("empty", "No conversations match these filters."), pager(data, filters)]);
      results.setAttribute("aria-busy", "false");
    }, function (error) {
      if (!current()) return;
      results.replaceChildren(message("error", "Could not load conversations: " + error.message));
      results.setAttribute("aria-busy", "false");
    });
  }

  function summary(data, filters) {
    var qs = query(filters);
    var exportLink = function (format) {
      return h("a", { class: "button", download: "", text: "Export " + format.toUpperCase(),
        href: API + "/conversations/export?" + query(Object.assign({ format: format }, filters)) });
    };
    return h("div", { class: "summary" },
      h("p", { class: "total", text: data.total.toLocaleString() + (data.total === 1 ?
        " conversation" : " conversations") + (qs ? " match these filters" : "") }),
      h("div", { class: "exports" }, exportLink("json"), exportLink("csv")));
  }

  function table(items) {
    var head = ["Started", "Customer", "Intents", "Sentiment", "Handoff", "CSAT", "Review", "Tags"];
    return h("div", { class: "table-wrap" },
      h("table", { class: "list" },
        headRow(head),
        h("tbody", {}, items.map(row))));
  }

  function headRow(names) {
    return h("thead", {}, h("tr", {}, names.map(function (name) {
      return h("th", { scope: "col", text: name });
    })));
  }

  function unique(list) {
    return list.filter(function (item, i) { return list.indexOf(item) === i; });
  }

  function customerCell(customer) {
    if (!customer) return h("span", { class: "muted", text: "Guest" });
    return [h("span", { text: customer.name }), h("br"),
      h("small", { class: "muted", text: customer.email })];
  }

  function row(item) {
    var intentsShown = unique(item.intents || []);
    return h("tr", { "data-sender-id": item.sender_id },
      h("td", {}, h("a", { href: conversationHref(item.sender_id), text: dateTime(item.started_at) })),
      h("td", {}, customerCell(item.customer)),
      h("td", { class: "chips" }, intentsShown.length ? intentsShown.map(function (name) {
        return chip(name, "intent");
      }) : h("span", { class: "muted", text: "\u2014" })),
      h("td", {}, item.sentiment_average == null ? h("span", { class: "muted", text: "\u2014" })
        : sentimentChip(item.sentiment, item.sentiment_average)),
      h("td", { text: item.handoff ? "Yes" : "No" }),
      h("td", { text: item.csat_rating ? item.csat_rating + " / 5" : "\u2014" }),
      h("td", {}, chip(statusLabel(item.review_status), "status status-" + item.review_status)),
      h("td", { class: "chips" }, (item.tags || []).map(function (tag) { return chip(tag, "tag"); })));
  }

  function statusLabel(status) {
    var found = REVIEW_STATUSES.filter(function (s) { return s[0] === status; })[0];
    return found ? found[1] : status;
  }

  function pager(data, filters) {
    if (data.pages <= 1) return null;
    var link = function (page, text, enabled) {
      if (!enabled) return h("span", { class: "button disabled", "aria-disabled": "true", text: text });
      return h("a", { class: "button", text: text,
        href: "#/conversations?" + query(Object.assign({}, filters, { page: page })) });
    };
    return h("nav", { class: "pager", "aria-label": "Pages" },
      link(data.page - 1, "\u2190 Previous", data.page > 1),
      h("span", { text: "Page " + data.page + " of " + data.pages }),
      link(data.page + 1, "Next \u2192", data.page < data.pages));
  }

  // --- one conversation --------------------------------------------------------------------

  function transcriptView(senderId, current) {
    var back = h("a", { class: "back", href: state.listHash, text: "\u2190 All conversations" });
    var loading = message("muted", "Loading the conversation\u2026");
    append(view, [back, heading("Conversation"), loading]);
    focusHeading();
    var path = "/conversations/" + encodeURIComponent(senderId);
    Promise.all([
      api("GET", path),
      api("GET", path + "/review").catch(function () { return null; }),
      intents().catch(function () { return []; })
    ]).then(function (answers) {
      if (!current()) return;
      loading.remove();
      renderConversation(senderId, answers[0], answers[1], answers[2]);
    }, function (error) {
      if (!current()) return;
      loading.replaceWith(message("error", error.status === 404
        ? "There is no conversation with this id." : "Could not load the conversation: " + error.message));
    });
  }

  function renderConversation(senderId, data, review, intentNames) {
    var record = data.conversation;
    view.querySelector("h1").textContent = record.customer
      ? "Conversation with " + record.customer.name : "Guest conversation";
    var facts = h("dl", { class: "facts" },
      fact("Started", dateTime(record.started_at)),
      fact("Conversation id", h("code", { text: senderId })),
      fact("Outcome", record.outcome || "open"),
      fact("Handoff", record.handoff ? "Yes" : "No"),
      fact("Sentiment", record.sentiment_average == null ? "\u2014"
        : sentimentChip(record.sentiment, record.sentiment_average)),
      fact("CSAT", record.csat_rating ? record.csat_rating + " / 5" +
        (record.csat_comment ? " \u201c" + record.csat_comment + "\u201d" : "") : "\u2014"));
    var layout = h("div", { class: "conversation" },
      h("section", { class: "transcript", "aria-labelledby": "transcript-title" },
        h("h2", { id: "transcript-title", text: "Transcript" }),
        transcript(senderId, data, intentNames)),
      h("aside", { class: "side", "aria-label": "Customer and review" },
        profilePanel(data.profile, record),
        reviewPanel(senderId, record, review),
        tagsPanel(senderId, record.tags || []),
        h("section", { class: "panel" }, h("h2", { text: "Export" }),
          h("p", { class: "exports" },
            h("a", { class: "button", download: "", text: "Export JSON",
              href: API + "/conversations/" + encodeURIComponent(senderId) + "/export?format=json" }),
            h("a", { class: "button", download: "", text: "Export CSV",
              href: API + "/conversations/" + encodeURIComponent(senderId) + "/export?format=csv" })))));
    append(view, [facts, layout]);
  }

  function fact(term, value) {
    return h("div", {}, h("dt", { text: term }), h("dd", {}, value));
  }

  /* Every turn with what the bot made of it; null while Rasa cannot be reached. */
  function transcript(senderId, data, intentNames) {
    var turns = data.turns;
    if (!turns) {
      return message("error", "The transcript is not available right now: the assistant " +
        "cannot be reached. The CRM record is shown.");
    }
    if (!turns.length) return message("empty", "This conversation has no messages yet.");
    var items = turns.map(function (turn) {
      return { at: toDate(turn.timestamp), node: turnItem(senderId, turn, intentNames) };
    });
    // Decisions slot in where they happened; without a time they go at the end.
    (data.decisions || []).forEach(function (decision) {
      var at = toDate(decision.at);
      var item = { at: at, node: decisionItem(decision) };
      var index = at ? items.findIndex(function (other) { return other.at && other.at > at; }) : -1;
      if (index < 0) items.push(item); else items.splice(index, 0, item);
    });
    return h("ol", { class: "turns" }, items.map(function (item) { return item.node; }));
  }

  function turnItem(senderId, turn, intentNames) {
    var kind = turn.kind;
    if (kind === "notice") {
      return h("li", { class: "turn turn-notice" }, h("span", { text: turn.text }),
        turn.timestamp ? h("time", { text: " \u00b7 " + clock(turn.timestamp) }) : null);
    }
    var who = kind === "customer" ? "Customer"
      : kind === "agent" ? "Agent" + (turn.agent_name ? " " + turn.agent_name : "") : "Assistant";
    var item = h("li", { class: "turn turn-" + kind },
      h("div", { class: "turn-head" }, h("strong", { text: who }),
        h("time", { text: clock(turn.timestamp) })),
      h("p", { class: "turn-text", text: turn.text }));
    if (turn.buttons && turn.buttons.length) {
      item.appendChild(h("p", { class: "chips quick" }, h("span", { class: "muted", text: "Quick replies:" }),
        turn.buttons.map(function (b) { return chip(b.title, "button-chip"); })));
    }
    if (kind === "customer") {
      item.appendChild(nluDetails(turn));
      item.appendChild(trainingForm(senderId, turn, intentNames));
    }
    return item;
  }

  function nluDetails(turn) {
    var details = h("div", { class: "nlu" });
    var intentText = turn.intent || "no intent";
    var confidence = typeof turn.confidence === "number"
      ? " " + (turn.confidence * 100).toFixed(1) + " %" : "";
    details.appendChild(chip(intentText + confidence, "intent", "Intent and confidence"));
    (turn.entities || []).forEach(function (entity) {
      var name = entity.entity + (entity.role ? " (" + entity.role + ")" : "");
      details.appendChild(chip(name + "=" + entity.value, "entity", "Entity"));
    });
    details.appendChild(turn.sentiment ? sentimentChip(turn.sentiment.label, turn.sentiment.score)
      : chip("no sentiment", "muted"));
    if (turn.actions && turn.actions.length) {
      details.appendChild(h("span", { class: "actions-run" }, h("span", { class: "muted", text: "Bot ran " }),
        turn.actions.map(function (name, i) {
          return [i ? " \u2192 " : "", h("code", { text: name })];
        })));
    }
    return details;
  }

  function trainingForm(senderId, turn, intentNames) {
    var names = intentNames.slice();
    var chooser = select("intent", [["", "Choose an intent"]].concat(names),
      names.indexOf(turn.intent) >= 0 ? turn.intent : "");
    chooser.id = nextId("train");
    var status = h("span", { class: "training-status", role: "status" });
    var button = h("button", { type: "submit", text: "Mark as training data" });
    var form = h("form", { class: "training", "aria-label": "Mark as training data" },
      h("label", { for: chooser.id, class: "small", text: "Intent" }), chooser, button, status);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chooser.value) {
        status.className = "training-status error";
        status.textContent = "Choose the intent this message should have.";
        return;
      }
      button.disabled = true;
      status.className = "training-status muted";
      status.textContent = "Saving\u2026";
      api("POST", "/conversations/" + encodeURIComponent(senderId) + "/training-examples",
        { text: turn.text, intent: chooser.value }).then(function (data) {
        var file = String(data.file).split("/").pop();
        status.className = "training-status ok";
        status.textContent = (data.added === false ? "Already an example of " : "Added as an example of ") +
          chooser.value + " (" + file + ": " + data.examples + " examples to review).";
      }, function (error) {
        status.className = "training-status error";
        status.textContent = "Not saved: " + error.message;
      }).then(function () { button.disabled = false; });
    });
    return form;
  }

  function decisionItem(decision) {
    var details = decision.details || {};
    var keys = Object.keys(details);
    return h("li", { class: "turn turn-decision" },
      h("div", { class: "turn-head" }, h("strong", { text: "Decision: " + decision.kind }),
        h("time", { text: clock(decision.at) })),
      h("p", { class: "turn-text", text: decision.reason }),
      keys.length ? h("p", { class: "chips" }, keys.map(function (key) {
        var value = details[key];
        var shown = typeof value === "object" ? JSON.stringify(value) : String(value);
        return chip(key + "=" + shown, "detail");
      })) : null);
  }

  function profilePanel(profile, record) {
    var panel = h("section", { class: "panel profile" }, h("h2", { text: "Customer" }));
    if (!profile) {
      return append(panel, [h("p", {}, chip("guest", "muted")),
        h("p", { class: "muted", text: "The customer did not verify who they are in this conversation." })]);
    }
    var c = profile.customer;
    var stats = profile.stats;
    append(panel, [
      h("p", { class: "customer-name" }, h("strong", { text: c.name }), " ",
        c.tier ? chip(c.tier, "tier tier-" + c.tier) : null),
      h("p", { class: "muted", text: c.email }),
      h("dl", { class: "mini" },
        fact("Customer id", String(c.id)),
        fact("Value", c.value),
        fact("Customer since", day(c.since)),
        fact("Conversations", String(stats.interaction_count)),
        fact("Handoffs", String(stats.handoff_count)),
        fact("Satisfaction", outOfFive(stats.satisfaction_average)),
        fact("CSAT average", outOfFive(stats.csat_average)),
        fact("Recent sentiment", stats.sentiment_history.length
          ? h("span", { class: "chips" }, stats.sentiment_history.slice(-5).map(function (score) {
            return sentimentChip(null, score);
          })) : "\u2014")),
      h("h3", { text: "Latest orders" }),
      miniTable(profile.orders, ["Order", "Status", "Total", "Placed"], function (o) {
        return [o.reference, o.status, String(o.total), day(o.placed_at)];
      }, "No orders."),
      h("h3", { text: "Tickets" }),
      miniTable(profile.tickets, ["Ticket", "Subject", "Status", "Priority"], function (t) {
        return [t.reference, t.subject, t.status, t.priority];
      }, "No tickets."),
      h("h3", { text: "Previous conversations" }),
      (profile.previous_conversations || []).length
        ? h("ul", { class: "previous" }, profile.previous_conversations.map(function (p) {
          return h("li", {}, h("a", { href: conversationHref(p.sender_id), text: dateTime(p.started_at) }),
            " ", h("span", { class: "muted", text: [p.outcome, unique(p.intents || []).slice(0, 3).join(", ")]
              .filter(Boolean).join(" \u00b7 ") }));
        }))
        : h("p", { class: "muted", text: "None before this one." })
    ]);
    return panel;
  }

  function outOfFive(value) {
    return typeof value === "number" ? value.toFixed(1) + " / 5" : "\u2014";
  }

  function miniTable(rows, head, cells, empty) {
    if (!rows || !rows.length) return h("p", { class: "muted", text: empty });
    return h("div", { class: "table-wrap" }, h("table", { class: "mini-table" },
      headRow(head),
      h("tbody", {}, rows.map(function (r) {
        return h("tr", {}, cells(r).map(function (text) { return h("td", { text: text }); }));
      }))));
  }

  function reviewedBy(review) {
    if (!review || !review.updated_at) return "Not reviewed yet.";
    return "Last saved " + dateTime(review.updated_at) +
      (review.updated_by ? " by " + review.updated_by.name : "") + ".";
  }

  function reviewPanel(senderId, record, review) {
    var status = select("status", REVIEW_STATUSES, (review && review.status) || record.review_status);
    var notes = h("textarea", { name: "notes", rows: "4", maxlength: "5000" });
    notes.value = (review && review.notes) || record.notes || "";
    var info = h("p", { class: "muted small", role: "status", text: reviewedBy(review) });
    var button = h("button", { type: "submit", class: "primary", text: "Save review" });
    var form = h("form", { class: "panel review", "aria-label": "Review" },
      h("h2", { text: "Review" }), field("Status", status), field("Notes", notes), button, info);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      api("PUT", "/conversations/" + encodeURIComponent(senderId) + "/review",
        { status: status.value, notes: notes.value }).then(function (saved) {
        info.className = "ok small";
        info.textContent = "Saved. " + reviewedBy(saved);
      }, function (error) {
        info.className = "error small";
        info.textContent = "Not saved: " + error.message;
      }).then(function () { button.disabled = false; });
    });
    return form;
  }

  function tagsPanel(senderId, tags) {
    var list = h("ul", { class: "tag-list", "aria-label": "Tags" });
    var info = h("p", { class: "small", role: "status" });
    var input = h("input", { name: "tag", type: "text", maxlength: "40", placeholder: "e.g. billing" });
    var base = "/conversations/" + encodeURIComponent(senderId) + "/tags/";

    function show(current) {
      list.replaceChildren();
      if (!current.length) list.appendChild(h("li", { class: "muted", text: "No tags yet." }));
      current.forEach(function (tag) {
        list.appendChild(h("li", {}, chip(tag, "tag"), h("button", { type: "button", class: "remove",
          "aria-label": "Remove tag " + tag, title: "Remove tag", text: "\u00d7",
          onclick: function () { change("DELETE", tag); } })));
      });
    }

    function change(method, tag) {
      info.className = "small muted";
      info.textContent = "";
      return api(method, base + encodeURIComponent(tag)).then(function (data) {
        show(data.tags);
        info.textContent = method === "POST" ? "Tag added." : "Tag removed.";
        return true;
      }, function (error) {
        info.className = "small error";
        info.textContent = error.message;
        return false;
      });
    }

    var form = h("form", { class: "add-tag" }, field("New tag", input),
      h("button", { type: "submit", text: "Add tag" }));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var tag = input.value.trim().toLowerCase();
      if (!tag) return;
      change("POST", tag).then(function (ok) { if (ok) input.value = ""; });
    });
    show(tags);
    return h("section", { class: "panel tags" }, h("h2", { text: "Tags" }), list, form, info);
  }

  // --- the queue and the live chat ---------------------------------------------------------

  function queueView(chatId, current) {
    var notice = h("div", { class: "queue-alert" });
    if (state.flash) { notice.appendChild(message("ok", state.flash)); state.flash = null; }
    var waiting = h("ul", { class: "queue-list", "aria-label": "Waiting for a person" });
    var claimed = h("ul", { class: "queue-list", "aria-label": "Being handled" });
    var waitingCount = h("span", { class: "count" });
    var claimedCount = h("span", { class: "count" });
    var updated = h("p", { class: "muted small", "aria-live": "off" });
    var columns = h("div", { class: "queue-columns" + (chatId ? " with-chat" : "") },
      h("div", { class: "queue-lists" },
        h("section", { class: "panel" }, h("h2", {}, "Waiting for a person ", waitingCount), waiting),
        h("section", { class: "panel" }, h("h2", {}, "Being handled ", claimedCount), claimed),
        updated));
    append(view, [heading("Queue"), notice, columns]);
    if (chatId) columns.appendChild(liveChat(chatId, current, notice));
    focusHeading();

    var shown = {};  // sender id -> rendered JSON: rows only change when their data does
    function refresh() {
      return api("GET", "/queue").then(function (data) {
        if (!current()) return;
        var items = data.items || [];
        var open = items.filter(function (i) { return i.state === "waiting"; });
        var taken = items.filter(function (i) { return i.state !== "waiting"; });
        sync(waiting, open, "Nobody is waiting for a person right now.");
        sync(claimed, taken, "No conversation is being handled by a person.");
        // Rows only re-render when their data changes; the waiting times move on regardless.
        waiting.querySelectorAll("[data-waiting-since]").forEach(function (node) {
          node.textContent = waitingText(node.getAttribute("data-waiting-since"));
        });
        waitingCount.textContent = "(" + open.length + ")";
        claimedCount.textContent = "(" + taken.length + ")";
        updated.textContent = "Updated " + clock(Date.now() / 1000) + "; refreshes every " +
          QUEUE_POLL_MS / 1000 + " seconds.";
      }, function (error) {
        if (!current()) return;
        updated.textContent = "Could not refresh the queue: " + error.message;
      });
    }

    function sync(list, items, emptyText) {
      var keep = {};
      items.forEach(function (item) { keep[item.sender_id] = true; });
      Array.prototype.slice.call(list.children).forEach(function (child) {
        var id = child.getAttribute("data-sender-id");
        if (!id || !keep[id]) { list.removeChild(child); if (id) delete shown[id]; }
      });
      items.forEach(function (item, index) {
        var json = JSON.stringify(item);
        var existing = list.querySelector("[data-sender-id=\"" + CSS.escape(item.sender_id) + "\"]");
        if (!existing || shown[item.sender_id] !== json) {
          var node = queueItem(item);
          if (existing) existing.replaceWith(node); else list.appendChild(node);
          shown[item.sender_id] = json;
          existing = node;
        }
        if (list.children[index] !== existing) list.insertBefore(existing, list.children[index]);
      });
      if (!items.length) list.appendChild(h("li", { class: "muted empty-row", text: emptyText }));
    }

    function queueItem(item) {
      var who = item.customer ? item.customer.name : "Guest";
      var isMine = item.agent && state.agent && item.agent.id === state.agent.id;
      var controls = h("div", { class: "queue-controls" });
      if (item.state === "waiting") {
        controls.appendChild(h("button", { type: "button", class: "primary", text: "Claim",
          "aria-label": "Claim the conversation with " + who, onclick: function (event) {
            claim(item, event.currentTarget);
          } }));
      } else if (isMine) {
        controls.appendChild(h("a", { class: "button primary", href: "#/queue/" +
          encodeURIComponent(item.sender_id), text: "Open chat" }));
      }
      controls.appendChild(h("a", { class: "button", href: conversationHref(item.sender_id),
        text: "Transcript" }));
      return h("li", { class: "queue-item" + (isMine ? " mine" : ""), "data-sender-id": item.sender_id },
        h("div", { class: "queue-main" },
          h("strong", { text: who }),
          item.priority ? chip(String(item.priority), "priority priority-" + item.priority) : null,
          h("p", { class: "reason", text: item.reason || "" }),
          item.state === "waiting"
            ? h("p", { class: "muted small", "data-waiting-since": item.requested_at,
              text: waitingText(item.requested_at) })
            : h("p", { class: "muted small", text: "Claimed by " +
              (isMine ? "you" : item.agent ? item.agent.name : "someone") +
              (item.claimed_at ? " at " + clock(item.claimed_at) : "") })),
        controls);
    }

    function waitingText(since) {
      return "Waiting " + ago(since) + " (since " + dateTime(since) + ")";
    }

    function claim(item, button) {
      button.disabled = true;
      notice.replaceChildren();
      api("POST", "/queue/" + encodeURIComponent(item.sender_id) + "/claim").then(function () {
        go("#/queue/" + encodeURIComponent(item.sender_id));
      }, function (error) {
        if (!current()) return;
        button.disabled = false;
        var text = error.status === 409 ? "You cannot claim this conversation: " + error.message + "."
          : error.status === 404 ? "This conversation is no longer waiting for a person."
            : "Could not claim the conversation: " + error.message;
        notice.replaceChildren(message("error", text));
        refresh();
      });
    }

    refresh();
    state.timers.push(setInterval(refresh, QUEUE_POLL_MS));
  }

  function liveChat(senderId, current, notice) {
    var shownCount = 0;
    var log = h("ol", { class: "live-log", role: "log", "aria-live": "polite",
      "aria-label": "Live conversation" });
    var status = h("p", { class: "muted small", role: "status" });
    var reply = h("textarea", { name: "reply", rows: "2", maxlength: "1000",
      placeholder: "Type a reply; Enter sends, Shift+Enter starts a new line" });
    var send = h("button", { type: "submit", class: "primary", text: "Send" });
    var handBack = h("button", { type: "button", text: "Hand back to the bot" });
    var form = h("form", { class: "reply" }, field("Your reply", reply),
      h("div", { class: "actions" }, send, handBack));
    var panel = h("section", { class: "panel live", "aria-labelledby": "live-title" },
      h("div", { class: "live-head" }, h("h2", { id: "live-title", text: "Live chat" }),
        h("a", { href: "#/queue", class: "button", text: "Close" })),
      h("p", { class: "small" }, h("a", { href: conversationHref(senderId),
        text: "Full transcript with NLU details" })),
      log, status, form);

    function render(msg) {
      var kind = msg.notice ? "notice" : msg.sender;
      if (kind === "notice") return h("li", { class: "turn turn-notice", text: msg.text });
      var who = kind === "customer" ? "Customer" : kind === "agent"
        ? (msg.agent_name || "Agent") : "Assistant";
      return h("li", { class: "turn turn-" + kind },
        h("div", { class: "turn-head" }, h("strong", { text: who }),
          h("time", { text: clock(msg.timestamp) })),
        h("p", { class: "turn-text", text: msg.text }));
    }

    function poll() {
      return api("GET", "/conversations/" + encodeURIComponent(senderId) + "/live?after=" + shownCount)
        .then(function (data) {
          if (!current()) return;
          data.messages.forEach(function (msg) { log.appendChild(render(msg)); });
          if (data.messages.length) log.scrollTop = log.scrollHeight;
          shownCount = data.total;
          status.textContent = data.paused ? "" : "The bot is answering this conversation again.";
        }, function (error) {
          if (!current()) return;
          status.textContent = "Could not refresh the chat: " + error.message;
        });
    }

    function sendReply() {
      var text = reply.value.trim();
      if (!text || send.disabled) return;
      send.disabled = true;
      api("POST", "/conversations/" + encodeURIComponent(senderId) + "/messages", { text: text })
        .then(function () {
          reply.value = "";
          return poll();
        }, function (error) {
          notice.replaceChildren(message("error", "Your reply was not sent: " + error.message));
        }).then(function () { send.disabled = false; reply.focus(); });
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); sendReply(); });
    reply.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendReply();
      }
    });
    handBack.addEventListener("click", function () {
      handBack.disabled = true;
      api("POST", "/queue/" + encodeURIComponent(senderId) + "/release").then(function () {
        state.flash = "The conversation is back with the bot.";
        go("#/queue");
      }, function (error) {
        handBack.disabled = false;
        notice.replaceChildren(message("error", "Could not hand back: " + error.message));
      });
    });

    poll();
    state.timers.push(setInterval(poll, LIVE_POLL_MS));
    setTimeout(function () { if (current()) reply.focus(); }, 0);
    return panel;
  }

  // --- analytics ---------------------------------------------------------------------------

  function analyticsView(params, current) {
    var from = h("input", { name: "date_from", type: "date", value: params.get("date_from") || "" });
    var to = h("input", { name: "date_to", type: "date", value: params.get("date_to") || "" });
    var form = h("form", { class: "filters period", "aria-label": "Period" },
      field("From", from), field("To", to),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: "Show" }),
        [7, 30, 90].map(function (days) {
          return h("button", { type: "button", text: "Last " + days + " days", onclick: function () {
            var end = new Date();
            var start = new Date(end.getTime() - (days - 1) * 86400000);
            go("#/analytics?" + query({ date_from: isoDay(start), date_to: isoDay(end) }));
          } });
        })));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      go("#/analytics?" + query({ date_from: from.value, date_to: to.value }));
    });
    var body = h("div", { class: "analytics", "aria-busy": "true" },
      message("muted", "Loading analytics\u2026"));
    append(view, [heading("Analytics"), form, body]);
    focusHeading();

    api("GET", "/analytics?" + query({ date_from: from.value, date_to: to.value })).then(function (data) {
      if (!current()) return;
      from.value = data.period.from;
      to.value = data.period.to;
      body.replaceChildren(kpis(data), charts(data));
      body.setAttribute("aria-busy", "false");
      drawCharts(data);
    }, function (error) {
      if (!current()) return;
      body.replaceChildren(message("error", "Could not load analytics: " + error.message));
      body.setAttribute("aria-busy", "false");
    });
  }

  function tile(label, value, note, extraClass) {
    return h("div", { class: "kpi" + (extraClass ? " " + extraClass : "") },
      h("span", { class: "kpi-label", text: label }),
      h("span", { class: "kpi-value", text: value }),
      note ? h("span", { class: "kpi-note", text: note }) : null);
  }

  function kpis(data) {
    var sentiment = data.average_sentiment;
    return h("section", { class: "kpis", "aria-label": "Key figures" },
      tile("Conversations", data.conversations.toLocaleString(), data.period.from + " to " + data.period.to),
      tile("Containment", percent(data.containment_rate), "solved without a person"),
      tile("Handoff rate", percent(data.handoff_rate), "passed to a person"),
      tile("Fallback rate", percent(data.fallback_rate), "the bot did not understand"),
      tile("Average sentiment", sentiment === null ? "\u2014" : signed(sentiment), "from \u22121 to +1",
        sentiment === null ? "" : "sentiment-" + sentimentBand(sentiment)),
      tile("Average CSAT", data.average_csat === null ? "\u2014" : data.average_csat.toFixed(2) + " / 5",
        data.csat_responses + (data.csat_responses === 1 ? " response" : " responses")));
  }

  function chartBox(id, title) {
    return h("section", { class: "panel chart" }, h("h2", { text: title }),
      h("div", { class: "chart-box" }, h("canvas", { id: id, role: "img", "aria-label": title })));
  }

  function charts() {
    return h("div", { class: "charts" },
      h("div", { class: "chart-wide" }, chartBox("chart-volume", "Conversations per day")),
      chartBox("chart-intents", "Top intents"),
      chartBox("chart-hours", "Busiest hours (UTC)"));
  }

  function drawCharts(data) {
    if (!window.Chart) {
      view.querySelector(".charts").replaceWith(message("error", "The charts library did not load."));
      return;
    }
    var Chart = window.Chart;
    Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    Chart.defaults.color = "#3d4653";
    var blue = "#1f5fbf";
    var common = { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } } };
    var counts = { beginAtZero: true, ticks: { precision: 0 } };
    var volume = data.volume || [];
    var topIntents = data.top_intents || [];
    var hours = data.busiest_hours || [];
    label("chart-volume", "Conversations per day: " + volume.map(function (v) {
      return v.day + " " + v.conversations; }).join(", "));
    label("chart-intents", "Top intents: " + topIntents.map(function (t) {
      return t.intent + " " + t.conversations; }).join(", "));
    label("chart-hours", "Conversations by hour (UTC): " + hours.filter(function (x) {
      return x.conversations; }).map(function (x) { return x.hour + ":00 " + x.conversations; }).join(", "));
    state.charts.push(new Chart(document.getElementById("chart-volume"), {
      type: "line",
      data: { labels: volume.map(function (v) { return v.day; }),
        datasets: [{ label: "Conversations", data: volume.map(function (v) { return v.conversations; }),
          borderColor: blue, backgroundColor: "rgba(31, 95, 191, 0.12)", fill: true,
          cubicInterpolationMode: "monotone",
          pointRadius: 2 }] },
      options: Object.assign({}, common, { scales: { y: counts, x: { ticks: { maxTicksLimit: 10 } } } })
    }));
    state.charts.push(new Chart(document.getElementById("chart-intents"), {
      type: "bar",
      data: { labels: topIntents.map(function (t) { return t.intent; }),
        datasets: [{ label: "Conversations", data: topIntents.map(function (t) { return t.conversations; }),
          backgroundColor: blue, borderRadius: 3 }] },
      options: Object.assign({}, common, { indexAxis: "y", scales: { x: counts } })
    }));
    state.charts.push(new Chart(document.getElementById("chart-hours"), {
      type: "bar",
      data: { labels: hours.map(function (x) { return String(x.hour).padStart(2, "0"); }),
        datasets: [{ label: "Conversations", data: hours.map(function (x) { return x.conversations; }),
          backgroundColor: "#2e8b57", borderRadius: 3 }] },
      options: Object.assign({}, common, { scales: { y: counts } })
    }));
  }

  function label(id, text) {
    document.getElementById(id).setAttribute("aria-label", text);
  }

  // --- start -------------------------------------------------------------------------------

  api("GET", "/me").then(function (data) { signedIn(data.agent); }, function (error) {
    if (error.status !== 401) signedOut("The console cannot reach the server: " + error.message);
  });
})();
