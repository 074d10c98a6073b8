// The API tester: calls the endpoint picked in the list (paths come from the OpenAPI
// document, never from free text) with the parameters typed in its fields (one per
// parameter the document lists: in the path, the query or a header) and shows status,
// time, headers and body as received.
(function () {
  "use strict";

  var form = document.getElementById("tester");
  var select = document.getElementById("endpoint");
  var result = document.getElementById("result");
  var button = document.getElementById("run");
  var el = function (id) { return document.getElementById(id); };

  function absolute(path) {
    return new URL(path, window.location.origin).href;
  }

  function quoted(text) {
    // Single quotes: nothing inside is expanded by the shell.
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function curlFor(url, headers) {
    var parts = ["curl -i"];
    Object.keys(headers).forEach(function (name) {
      parts.push("-H " + quoted(name + ": " + headers[name]));
    });
    parts.push(quoted(url));
    return parts.join(" ");
  }

  function chosenFields() {
    var fieldset = form.querySelector('fieldset[data-params="' + select.value + '"]');
    return fieldset ? Array.prototype.slice.call(fieldset.querySelectorAll("[data-in]")) : [];
  }

  // The address and headers the chosen endpoint's fields make: path parameters in the
  // path (encoded), the others in the query when filled in, headers as headers.
  function request() {
    var option = select.options[select.selectedIndex];
    var path = option.dataset.template;
    var query = new URLSearchParams();
    var headers = {};
    chosenFields().forEach(function (field) {
      var value = field.value;
      if (field.dataset.in === "path") {
        path = path.replace("{" + field.name + "}", encodeURIComponent(value));
      } else if (value !== "" && field.dataset.in === "header") {
        headers[field.name] = value;
      } else if (value !== "") {
        query.append(field.name, value);
      }
    });
    var search = query.toString();
    return { url: absolute(path + (search ? "?" + search : "")), headers: headers };
  }

  function showFields() {
    form.querySelectorAll("fieldset[data-params]").forEach(function (fieldset) {
      var chosen = fieldset.dataset.params === select.value;
      fieldset.hidden = !chosen;
      fieldset.disabled = !chosen;
    });
  }

  function show(id, text) {
    el(id).textContent = text;
  }

  // Pretty JSON as spans (never innerHTML: the body is data, not markup).
  // Groups: 1 a string, 2 the colon that makes it a key; else a literal or a number.
  var TOKEN = /("(?:\\u[0-9a-fA-F]{4}|\\[^u]|[^\\"])*")(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

  function highlight(target, text) {
    target.textContent = "";
    var last = 0;
    text.replace(TOKEN, function (match, string, colon, offset) {
      target.appendChild(document.createTextNode(text.slice(last, offset)));
      var span = document.createElement("span");
      if (string) {
        span.className = colon ? "json-key" : "json-string";
      } else if (match === "null") {
        span.className = "json-null";
      } else if (match === "true" || match === "false") {
        span.className = "json-boolean";
      } else {
        span.className = "json-number";
      }
      span.textContent = match;
      target.appendChild(span);
      last = offset + match.length;
      return match;
    });
    target.appendChild(document.createTextNode(text.slice(last)));
  }

  function showHeaders(headers) {
    var rows = el("header-rows");
    rows.textContent = "";
    var count = 0;
    headers.forEach(function (value, name) {
      var row = rows.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = value;
      count += 1;
    });
    show("header-count", String(count));
  }

  // An image answer (the SVG card) is drawn as well, loaded again from the same URL.
  function showPreview(url, contentType) {
    var isImage = /^image\//.test(contentType || "");
    el("preview").hidden = !isImage;
    el("preview-image").src = isImage ? url : "";
  }

  function showBody(text, contentType) {
    var body = el("body");
    var note = el("note");
    note.hidden = true;
    if (text === "") {
      body.textContent = "(empty body)";
      return;
    }
    try {
      highlight(body, JSON.stringify(JSON.parse(text), null, 2));
    } catch (notJson) {
      body.textContent = text;
      note.textContent = "The body is not JSON (Content-Type: " + (contentType || "none") + "); shown as received.";
      note.hidden = false;
    }
  }

  function setStatus(text, kind) {
    var status = el("status");
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function run() {
    var asked = request();
    var url = asked.url;
    result.hidden = false;
    el("busy").hidden = false;
    button.disabled = true;
    show("request", "GET " + url);
    show("curl", curlFor(url, asked.headers));
    setStatus("…", "");
    show("time", "");
    var started = performance.now();
    var headers = Object.assign({ Accept: "application/json" }, asked.headers);
    // no-store: show what the server answers now, not the browser's cached copy.
    fetch(url, { headers: headers, cache: "no-store" })
      .then(function (response) {
        return response.text().then(function (text) {
          show("time", Math.round(performance.now() - started) + " ms");
          setStatus(response.status + " " + response.statusText, response.ok ? "ok" : "error");
          showHeaders(response.headers);
          showBody(text, response.headers.get("Content-Type"));
          showPreview(url, response.headers.get("Content-Type"));
        });
      })
      .catch(function (error) {
        show("time", Math.round(performance.now() - started) + " ms");
        setStatus("Network error", "error");
        showHeaders(new Headers());
        el("body").textContent = "No answer: " + error.message;
        showPreview("", "");
        el("note").hidden = true;
      })
      .then(function () {
        el("busy").hidden = true;
        button.disabled = false;
      });
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return Promise.reject(new Error("no clipboard"));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  select.addEventListener("change", function () {
    show("endpoint-summary", select.options[select.selectedIndex].dataset.summary);
    showFields();
    // Keep the address shareable: ?endpoint=<name> preselects it.
    var url = new URL(window.location.href);
    url.searchParams.set("endpoint", select.value);
    window.history.replaceState(null, "", url);
  });

  document.querySelectorAll("button[data-copy]").forEach(function (copyButton) {
    copyButton.addEventListener("click", function () {
      var source = el(copyButton.dataset.copy);
      copy(source.textContent).then(
        function () { show("copied", "Copied to the clipboard."); },
        function () {
          // No clipboard access (plain http): select it so Ctrl+C works.
          window.getSelection().selectAllChildren(source);
          show("copied", "Selected: press Ctrl+C (⌘C) to copy.");
        }
      );
    });
  });
}());
