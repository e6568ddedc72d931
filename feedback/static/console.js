// chatloop moderator console. Chat text is untrusted: it is only ever set with
// textContent, never parsed as HTML.
"use strict";
(function () {
  const LABELS = ["normal", "question", "toxic", "spam"];
  const TOKEN_KEY = "chatloop-moderator-token";
  const $ = (id) => document.getElementById(id);
  let rows = [];       // [{item, tr}]
  let selected = 0;

  function setStatus(message, isError) {
    $("status").textContent = message;
    $("status").className = isError ? "error" : "";
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function showLogin(message) {
    $("login").hidden = false;
    $("queue").hidden = true;
    if (message) setStatus(message, true);
  }

  async function api(path, options) {
    const headers = Object.assign({"Authorization": "Bearer " + token()},
                                  options && options.body ? {"Content-Type": "application/json"} : {});
    const response = await fetch(path, Object.assign({headers: headers}, options || {}));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("The token was not accepted; enter it again.");
    }
    return {ok: response.ok, status: response.status, body: body};
  }

  function cell(tr, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }

  function render(items) {
    const tbody = $("queue").querySelector("tbody");
    tbody.replaceChildren();
    rows = items.map(function (item, index) {
      const tr = document.createElement("tr");
      tr.dataset.decision = String(item.id);
      if (item.sample === "audit") tr.classList.add("audit");
      cell(tr, item.text, "text");
      const predicted = cell(tr, item.label, "predicted");
      if (item.sample === "platform-moderation") {
        // A human moderator removed this message (or its author) on the platform.
        tr.classList.add("platform-moderation");
        const mark = document.createElement("span");
        mark.className = "mark";
        mark.textContent = "platform: " + ((item.flag && item.flag.kind) || "moderated");
        predicted.appendChild(mark);
      }
      cell(tr, Number(item.confidence).toFixed(2), "conf");
      cell(tr, (item.model_name || "") + (item.model_version ? " v" + item.model_version : ""), "model");
      const buttons = cell(tr, "", "buttons");
      LABELS.forEach(function (label, i) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "label" + (label === item.label ? " predicted" : "");
        b.dataset.label = label;
        b.textContent = (i + 1) + " " + label;
        b.addEventListener("click", function () { select(index); correct(index, label); });
        buttons.appendChild(b);
      });
      cell(tr, "", "result");
      tr.addEventListener("click", function () { select(index); });
      tbody.appendChild(tr);
      return {item: item, tr: tr};
    });
    $("queue").hidden = false;
    select(0);
  }

  function select(index) {
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (r, i) { r.tr.classList.toggle("selected", i === selected); });
    rows[selected].tr.scrollIntoView({block: "nearest"});
  }

  async function correct(index, label) {
    const row = rows[index];
    if (!row) return;
    const result = row.tr.querySelector("td.result");
    // One key per click, reused only if this same click is retried.
    const key = "console:" + row.item.id + ":" + label + ":" + Date.now() + ":" +
                Math.random().toString(36).slice(2);
    result.textContent = "saving…";
    for (let attempt = 0; attempt < 3; attempt++) {
      let response;
      try {
        response = await api("/v1/corrections", {method: "POST", body: JSON.stringify(
          {decision_id: row.item.id, label: label, idempotency_key: key})});
      } catch (e) {
        continue;  // network error: retry with the same key
      }
      if (response.ok) {
        row.tr.classList.add("done");
        row.tr.dataset.corrected = label;
        result.textContent = "saved: " + label;
        if (index === selected) select(index + 1);
        return;
      }
      const detail = response.body && response.body.detail;
      result.textContent = "not saved";
      setStatus("Correction not saved: " + (typeof detail === "string" ? detail : response.status), true);
      return;
    }
    result.textContent = "not saved";
    setStatus("Correction not saved: the server did not answer.", true);
  }

  async function load() {
    if (!token()) { showLogin(""); return; }
    $("login").hidden = true;
    setStatus("loading…", false);
    let response;
    try { response = await api("/v1/review?limit=100"); }
    catch (e) { setStatus("The server did not answer.", true); return; }
    if (!response.ok) {
      if (response.status !== 401) setStatus("Could not load the queue (" + response.status + ").", true);
      return;
    }
    $("who").textContent = "moderator: " + response.body.moderator;
    render(response.body.items);
    setStatus(response.body.items.length ? response.body.items.length + " to review" :
              "Nothing to review.", false);
  }

  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return;
    const n = "1234".indexOf(event.key);
    if (n >= 0) { correct(selected, LABELS[n]); event.preventDefault(); }
    else if (event.key === "j") select(selected + 1);
    else if (event.key === "k") select(selected - 1);
    else if (event.key === "r") load();
  });

  document.addEventListener("DOMContentLoaded", function () {
    $("login").addEventListener("submit", function (event) {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("token").value = "";
      load();
    });
    $("reload").addEventListener("click", load);
    $("logout").addEventListener("click", function () {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("");
    });
    load();
  });
})();
