/* supportbot chat widget: one script tag puts a chat launcher on the page.
 *   <script src="/static/widget.js" defer data-customer-token="..."></script>
 * Everything is rendered with textContent: nothing a customer, agent or bot sends is parsed as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var customerToken = (script && script.dataset.customerToken) || null;
  var api = "/api/chat/messages";
  var POLL_MS = 3000;

  var shown = 0;          // transcript messages on screen
  var paused = false;     // a human has the conversation
  var pollTimer = null;
  var busy = false;
  var lastFailed = null;  // what to retry after an error

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var launcher = el("button", "sb-launcher", "Chat with us");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sb-panel");

  var panel = el("section", "sb-panel");
  panel.id = "sb-panel";
  panel.hidden = true;
  panel.setAttribute("aria-label", "Customer support chat");

  var header = el("header", "sb-header");
  header.appendChild(el("span", "sb-title", "Support"));
  var close = el("button", "sb-close", "\u00d7");
  close.type = "button";
  close.setAttribute("aria-label", "Close the chat");
  header.appendChild(close);

  var log = el("ol", "sb-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");

  var banner = el("p", "sb-banner", "A person from our team will reply here shortly.");
  banner.hidden = true;
  banner.setAttribute("role", "status");

  var typing = el("p", "sb-typing", "The assistant is typing\u2026");
  typing.hidden = true;

  var notice = el("div", "sb-notice");
  notice.hidden = true;
  notice.setAttribute("role", "alert");
  var noticeText = el("span", "", "");
  var retry = el("button", "sb-retry", "Retry");
  retry.type = "button";
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
  panel.appendChild(banner);
  panel.appendChild(typing);
  panel.appendChild(notice);
  panel.appendChild(form);

  function time(ts) {
    if (!ts) return "";
    var d = new Date(ts * 1000);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function render(message) {
    var who = { customer: "You", bot: "Assistant", agent: "Agent" }[message.sender] || "Assistant";
    var item = el("li", "sb-msg sb-" + message.sender);
    var meta = el("span", "sb-meta", who + (message.timestamp ? " \u00b7 " + time(message.timestamp) : ""));
    item.appendChild(meta);
    item.appendChild(el("p", "sb-text", message.text));
    if (message.buttons && message.buttons.length) {
      var replies = el("div", "sb-buttons");
      replies.setAttribute("role", "group");
      replies.setAttribute("aria-label", "Quick replies");
      message.buttons.forEach(function (button) {
        var b = el("button", "sb-quick", button.title);
        b.type = "button";
        b.addEventListener("click", function () { say(button.payload, button.title); });
        replies.appendChild(b);
      });
      item.appendChild(replies);
    }
    log.appendChild(item);
  }

  function apply(view) {
    (view.messages || []).forEach(render);
    shown = typeof view.total === "number" ? view.total : shown + (view.messages || []).length;
    paused = !!view.paused;
    banner.hidden = !paused;
    if (paused && !pollTimer) pollTimer = setInterval(poll, POLL_MS);
    if (!paused && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    log.scrollTop = log.scrollHeight;
  }

  function showError(message, again) {
    noticeText.textContent = message;
    notice.hidden = false;
    lastFailed = again;
  }

  function request(method, body) {
    var url = method === "GET" ? api + "?after=" + shown : api;
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || "The assistant is not available right now.");
        return data;
      });
    }, function () {
      throw new Error("We can't reach the assistant. Check your connection and try again.");
    });
  }

  function load() {
    return request("GET").then(function (view) {
      notice.hidden = true;
      apply(view);
      if (shown === 0) log.appendChild(el("li", "sb-hint", "Hi! Ask me about an order, a refund, an invoice or your account."));
    }, function (error) { showError(error.message, load); });
  }

  function poll() {
    if (busy) return;
    request("GET").then(function (view) { notice.hidden = true; apply(view); }, function () {});
  }

  function say(text, label) {
    if (busy || !text.trim()) return;
    busy = true;
    notice.hidden = true;
    var pending = el("li", "sb-msg sb-customer sb-pending");
    pending.appendChild(el("span", "sb-meta", "You"));
    pending.appendChild(el("p", "sb-text", label || text));
    log.appendChild(pending);
    log.scrollTop = log.scrollHeight;
    typing.hidden = paused;
    var body = { text: text, after: shown };
    if (customerToken) body.customer_token = customerToken;
    request("POST", body).then(function (view) {
      pending.remove();
      apply(view);
    }, function (error) {
      pending.remove();
      input.value = input.value || label || text;
      showError(error.message, function () { say(text, label); });
    }).then(function () {
      busy = false;
      typing.hidden = true;
      input.focus();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    say(text);
  });
  retry.addEventListener("click", function () { if (lastFailed) { input.value = ""; lastFailed(); } });

  var loaded = false;
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (!loaded) { loaded = true; load(); }
    input.focus();
  }
  function hide() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { panel.hidden ? open() : hide(); });
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });

  document.body.appendChild(launcher);
  document.body.appendChild(panel);
})();
