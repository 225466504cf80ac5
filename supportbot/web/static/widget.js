/* supportbot chat widget: one script tag puts a chat launcher on the page.
 *   <script src="/static/widget.js" defer data-customer-token="..."></script>
 *
 * It loads its libraries from beside itself (vendor/: socket.io client, marked, DOMPurify), shows
 * the conversation's history from the web app (GET /api/chat/messages), then talks to Rasa's
 * socket.io channel with the signed session token the web app hands out (GET /api/chat/session),
 * so a reload or a second tab continues the same conversation. Without a socket it uses the web
 * app's REST proxy (POST /api/chat/messages, polling while a person has the conversation).
 *
 * Live socket messages are shown at once and checked against the stored transcript shortly after
 * (the transcript wins), which also tells whether a person has the conversation.
 * Customer text is always plain text (textContent); bot and agent messages are markdown, turned
 * into HTML by marked and cleaned by DOMPurify (a few simple tags, http(s)/mailto links only).
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[src$='widget.js']");
  var customerToken = (script && script.dataset.customerToken) || null;
  var widgetUrl = new URL(script.src, location.href);
  var api = widgetUrl.origin + "/api/chat";
  var POLL_MS = 3000;      // REST fallback, while a person has the conversation
  var CONNECT_MS = 4000;   // how long the socket may take before messages go over REST
  var TURN_MS = 30000;     // longest wait for the bot's turn over the socket
  var SETTLE_MS = 1200;    // quiet time after live messages before checking the transcript
  var UNREACHABLE = "We can't reach the assistant. Check your connection and try again.";

  var shown = 0;          // transcript messages confirmed on screen
  var live = [];          // elements shown ahead of the transcript (socket messages, the pending one)
  var paused = false;     // a person has the conversation
  var transport = "connecting";
  var session = null;     // {session, socket_url} from the web app
  var socket = null;
  var pending = null;     // the customer's message on its way: {el, key, confirmed}
  var busy = false;       // a message is on its way; the next one waits in `queued`
  var queued = null;
  var pollTimer = null;
  var settleTimer = null;
  var queue = Promise.resolve();  // transcript requests, one at a time
  var lastFailed = null;  // what Retry does
  var markdown = null;    // text -> DocumentFragment, once marked and DOMPurify are loaded

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(className, text, label) {
    var b = el("button", className, text);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    return b;
  }

  // ---- libraries, from the widget's own origin (the page's CSP allows 'self' scripts) ----

  function library(file, loaded) {
    if (loaded()) return Promise.resolve();
    return new Promise(function (resolve) {
      var tag = document.createElement("script");
      tag.src = new URL("vendor/" + file, widgetUrl).href;
      tag.onload = tag.onerror = function () { resolve(); };  // missing: REST / plain text
      document.head.appendChild(tag);
    });
  }

  // One script tag is enough: the widget brings its own stylesheet unless the page links it.
  var styles = new URL("widget.css", widgetUrl).href;
  var linked = Array.prototype.some.call(document.querySelectorAll("link[rel=stylesheet]"),
    function (link) { return link.href === styles; });
  if (!linked) {
    var sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = styles;
    document.head.appendChild(sheet);
  }

  var libraries = Promise.all([
    library("socket.io.min.js", function () { return typeof window.io === "function"; }),
    library("marked.umd.js", function () { return !!(window.marked && window.marked.Marked); }),
    library("purify.min.js", function () { return typeof window.DOMPurify === "function"; })
  ]).then(function () {
    if (!window.marked || !window.marked.Marked || typeof window.DOMPurify !== "function") return;
    var parser = new window.marked.Marked({ gfm: true, breaks: true });
    var purify = window.DOMPurify(window);  // our own instance: the host page's hooks stay theirs
    if (!purify.isSupported) return;
    purify.addHook("afterSanitizeAttributes", function (node) {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    var rules = {
      ALLOWED_TAGS: ["p", "em", "strong", "a", "ul", "ol", "li", "code", "br"],
      ALLOWED_ATTR: ["href"],
      ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
      RETURN_DOM_FRAGMENT: true
    };
    markdown = function (text) { return purify.sanitize(parser.parse(text), rules); };
  });

  // ---- the panel ----

  var launcher = el("button", "sb-launcher");
  launcher.type = "button";
  launcher.appendChild(el("span", "sb-launcher-icon")).setAttribute("aria-hidden", "true");
  launcher.appendChild(el("span", "", "Chat with us"));
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sb-panel");

  var panel = el("section", "sb-panel");
  panel.id = "sb-panel";
  panel.hidden = true;
  panel.setAttribute("aria-labelledby", "sb-title");
  panel.dataset.transport = transport;

  var header = el("header", "sb-header");
  var heading = el("div", "sb-heading");
  var title = el("h2", "sb-title", "Support");
  title.id = "sb-title";
  heading.appendChild(title);
  heading.appendChild(el("p", "sb-subtitle", "Our assistant answers right away"));
  header.appendChild(heading);
  var close = button("sb-close", "\u00d7", "Close the chat");
  header.appendChild(close);

  var log = el("ol", "sb-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;  // scrollable with the keyboard

  var banner = el("p", "sb-banner", "A person from our team will reply here shortly.");
  banner.hidden = true;
  banner.setAttribute("role", "status");

  var typing = el("div", "sb-typing");
  typing.hidden = true;
  typing.setAttribute("role", "status");
  typing.appendChild(el("span", "sb-visually-hidden", "The assistant is typing"));
  for (var d = 0; d < 3; d++) typing.appendChild(el("span", "sb-dot")).setAttribute("aria-hidden", "true");

  var notice = el("div", "sb-notice");
  notice.hidden = true;
  notice.setAttribute("role", "alert");
  var noticeText = el("span", "sb-notice-text", "");
  var retry = button("sb-retry", "Retry");
  notice.appendChild(noticeText);
  notice.appendChild(retry);

  var form = el("form", "sb-form");
  var input = el("input", "sb-input");
  input.type = "text";
  input.maxLength = 1000;
  input.autocomplete = "off";
  input.placeholder = "Type your message";
  input.setAttribute("aria-label", "Your message");
  var send = el("button", "sb-send", "Send");
  send.type = "submit";
  form.appendChild(input);
  form.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(banner);
  panel.appendChild(notice);
  panel.appendChild(form);

  // ---- messages ----

  function time(ts) {
    var d = new Date(ts * 1000);
    return d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function keyOf(message) { return message.sender + "\n" + message.text; }

  function isRating(buttons) {
    return buttons.some(function (b) { return /csat_rating/.test(b.payload); });
  }

  function quickReplies(buttons) {
    var group = el("div", "sb-buttons");
    group.setAttribute("role", "group");
    var rating = isRating(buttons);
    group.setAttribute("aria-label", rating ? "Rate this conversation" : "Quick replies");
    var stars = rating ? group.appendChild(el("div", "sb-stars")) : null;
    buttons.forEach(function (choice) {
      var b;
      if (stars && /^[1-5]$/.test(choice.title)) {
        var n = Number(choice.title);
        b = button("sb-star", "", n + (n === 1 ? " star" : " stars") + " out of 5");
        b.appendChild(el("span", "sb-star-icon", "\u2605")).setAttribute("aria-hidden", "true");
        b.appendChild(el("span", "sb-star-number", choice.title)).setAttribute("aria-hidden", "true");
        stars.appendChild(b);
      } else {
        b = group.appendChild(button("sb-quick", choice.title));
      }
      b.addEventListener("click", function () { say(choice.payload, choice.title); });
    });
    return group;
  }

  function bubble(message) {
    if (message.notice) {
      // "An agent has joined" / "you are back with the assistant": a status line, not a bubble.
      var status = el("li", "sb-status");
      status.appendChild(el("span", "sb-status-text", message.text));
      if (message.timestamp) status.appendChild(el("span", "sb-status-time", time(message.timestamp)));
      status.sbKey = keyOf(message);
      return status;
    }
    var who = message.sender === "customer" ? "You"
      : message.sender === "agent" ? (message.agent_name || "Support team") : "Assistant";
    var item = el("li", "sb-msg sb-" + message.sender);
    var meta = el("p", "sb-meta");
    meta.appendChild(el("span", "sb-who", who));
    item.sbMeta = who + "|" + (message.timestamp ? time(message.timestamp) : "");
    if (message.timestamp) {
      var when = el("time", "sb-time", time(message.timestamp));
      when.dateTime = new Date(message.timestamp * 1000).toISOString();
      meta.appendChild(when);
    }
    var body = el("div", "sb-text");
    if (message.sender === "customer" || !markdown) {
      body.textContent = message.text;
      body.classList.add("sb-plain");
    } else {
      body.appendChild(markdown(message.text));
    }
    item.appendChild(meta);
    item.appendChild(body);
    if (message.buttons && message.buttons.length) item.appendChild(quickReplies(message.buttons));
    item.sbKey = keyOf(message);
    return item;
  }

  function append(item) {
    var hint = log.querySelector(".sb-hint");
    if (hint) hint.remove();
    // Only the newest message's quick replies still make sense.
    log.querySelectorAll(".sb-buttons button").forEach(function (b) { b.disabled = true; });
    // A message from the same sender in the same minute joins the previous one visually.
    var previous = log.lastElementChild === item ? item.previousElementSibling : log.lastElementChild;
    item.classList.toggle("sb-followup", !!(previous && item.sbMeta && previous.sbMeta === item.sbMeta));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function setPaused(value) {
    paused = value;
    banner.hidden = !paused;
    if (paused) typing.hidden = true;
    var poll = paused && transport === "rest";
    if (poll && !pollTimer) pollTimer = setInterval(function () { sync(); }, POLL_MS);
    if (!poll && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  // Brings the screen in line with the stored transcript: `view` holds its messages after the
  // first `shown`. Live elements that match are kept; on a difference the transcript wins.
  function reconcile(view) {
    var messages = view.messages || [];
    var i = 0;
    while (i < messages.length && i < live.length && live[i].sbKey === keyOf(messages[i])) {
      live[i].classList.remove("sb-pending");
      if (pending && live[i] === pending.el) pending.confirmed = true;
      i++;
    }
    var rest = messages.slice(i);
    var waiting = pending && !pending.confirmed && live.indexOf(pending.el, i) >= 0;
    if (rest.length) {
      live.slice(i).forEach(function (item) { if (!waiting || item !== pending.el) item.remove(); });
      live = [];
      rest.forEach(function (message) {
        if (waiting && keyOf(message) === pending.key) {
          pending.confirmed = true;
          pending.el.remove();
          waiting = false;
        }
        append(bubble(message));
      });
      if (waiting) live = [append(pending.el)];  // still on its way: stays last
    } else {
      live = live.slice(i);
    }
    shown = typeof view.total === "number" ? view.total : shown + messages.length;
    setPaused(!!view.paused);
  }

  // ---- the web app's REST API ----

  function request(method, path, body) {
    var headers = body ? { "Content-Type": "application/json" } : {};
    // On every request: the web app keeps one conversation per principal, so a browser that
    // changes hands (log out, another customer logs in) never reaches the previous one.
    if (customerToken) headers["X-Customer-Token"] = customerToken;
    return fetch(api + path, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = typeof data.error === "string" && response.status < 500 ? data.error
            : "The assistant is not available right now. Please try again in a moment.";
          throw new Error(message);
        }
        return data;
      });
    }, function () { throw new Error(UNREACHABLE); });
  }

  // Transcript requests run one at a time, each asking for what follows the messages shown.
  function serial(task) {
    var run = queue.then(task);
    queue = run.catch(function () {});
    return run;
  }

  function sync() {
    return serial(function () {
      return request("GET", "/messages?after=" + shown).then(reconcile);
    });
  }

  function settleSoon() {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(function () { if (!busy) sync().catch(function () {}); }, SETTLE_MS);
  }

  // ---- Rasa's socket.io channel ----

  function setTransport(value) {
    transport = value;
    panel.dataset.transport = value;
    setPaused(paused);
  }

  function connect() {
    if (socket || !session || typeof window.io !== "function") {
      if (!socket) setTransport("rest");
      return;
    }
    socket = window.io(session.socket_url, {
      transports: ["websocket"],
      timeout: CONNECT_MS,
      reconnectionDelayMax: 10000
    });
    var slow = setTimeout(function () { if (transport !== "socket") setTransport("rest"); }, CONNECT_MS);
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: session.session });
    });
    socket.on("session_confirm", function () {
      clearTimeout(slow);
      setTransport("socket");
      sync().catch(function () {});  // whatever happened while the socket was away
    });
    socket.on("connect_error", function () { setTransport("rest"); });
    socket.on("disconnect", function () {
      setTransport("rest");
      if (pending && pending.lost) pending.lost();
    });
    socket.on("bot_uttered", function (message) {
      if (!message || typeof message.text !== "string") return;
      live.push(append(bubble(message)));
      if (message.notice === "agent_joined") setPaused(true);
      if (message.notice === "handback") setPaused(false);
      settleSoon();
    });
  }

  // ---- sending ----

  function showError(message, again) {
    noticeText.textContent = message;
    notice.hidden = false;
    lastFailed = again;
  }

  function finish() {
    busy = false;
    pending = null;
    typing.hidden = true;
    var next = queued;
    queued = null;
    if (next) next();
  }

  function fail(error, text, label) {
    if (pending) {
      pending.el.remove();
      live = live.filter(function (item) { return item !== pending.el; });
    }
    queued = null;  // after a failure the customer decides again
    finish();
    // The quick replies the failed message disabled are there to choose again.
    var last = log.lastElementChild;
    if (last) last.querySelectorAll(".sb-buttons button").forEach(function (b) { b.disabled = false; });
    if (!input.value) input.value = label || text;  // nothing typed is lost
    showError(error.message, function () {
      if (input.value === (label || text)) input.value = "";  // only what we put back
      say(text, label);
    });
  }

  function sendOverRest(text, label) {
    var body = { text: text, after: shown };
    return serial(function () {
      body.after = shown;
      return request("POST", "/messages", body).then(reconcile);
    }).then(finish, function (error) { fail(error, text, label); });
  }

  function sendOverSocket(text, label) {
    var settled = false;
    function settle(ok) {
      if (settled) return;
      settled = true;
      pending.lost = null;
      // Delivered: the transcript check shows the bot's turn. Not sure: the transcript tells,
      // and what did not arrive goes over REST.
      sync().then(function () {
        if (ok || pending.confirmed) finish();
        else sendOverRest(text, label);
      }, function (error) {
        if (ok) finish(); else fail(error, text, label);
      });
    }
    pending.lost = function () { settle(false); };
    var data = { message: text, metadata: customerToken ? { customer_token: customerToken } : {} };
    socket.timeout(TURN_MS).emit("user_uttered", data, function (error, answer) {
      settle(!error && !!answer && answer.status === "ok");
    });
  }

  function say(text, label) {
    text = text.trim();
    if (!text) return;
    if (busy) {
      queued = function () { say(text, label); };
      return;
    }
    busy = true;
    notice.hidden = true;
    var message = { sender: "customer", text: label || text, timestamp: Date.now() / 1000 };
    var item = append(bubble(message));
    item.classList.add("sb-pending");
    live.push(item);
    pending = { el: item, key: keyOf(message), confirmed: false, lost: null };
    typing.hidden = paused;
    log.scrollTop = log.scrollHeight;
    if (transport === "socket" && socket.connected) sendOverSocket(text, label);
    else sendOverRest(text, label);
  }

  // ---- opening ----

  function start() {
    notice.hidden = true;
    return libraries.then(function () {
      return session || request("GET", "/session");
    }).then(function (given) {
      session = given;
      return sync();
    }).then(function () {
      if (shown === 0 && !log.querySelector(".sb-hint")) {
        log.appendChild(el("li", "sb-hint", "Hi! Ask me about an order, a refund, an invoice or your account."));
      }
      connect();
    }, function (error) {
      showError(error.message, start);
    });
  }

  function submit() {
    if (!input.value.trim()) return;
    if (busy) {
      queued = submit;  // sent when the bot's turn is over; until then it stays in the box
      return;
    }
    var text = input.value;
    input.value = "";
    say(text);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  retry.addEventListener("click", function () {
    notice.hidden = true;
    if (lastFailed) lastFailed();
    input.focus();
  });

  var started = false;
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!started) { started = true; start(); }
    input.focus();
  }
  function hide() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { if (panel.hidden) open(); else hide(); });
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });
  panel.addEventListener("click", function (event) {
    if (event.target.closest(".sb-buttons button")) input.focus();
  });

  document.body.appendChild(launcher);
  document.body.appendChild(panel);
})();
