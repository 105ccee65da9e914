#include "portal/docs.h"

namespace migsbyu::portal {
namespace {

constexpr const char* kScriptType = "text/javascript; charset=utf-8";
constexpr const char* kStyleType = "text/css; charset=utf-8";

Response Asset(const std::string& body, const char* type) {
  Response r;
  r.content_type = type;
  r.body = body;
  return r;
}

}  // namespace

void RegisterDocs(Router& router, std::string title, std::string version) {
  const Router* table = &router;
  router.Add("GET", "/openapi.json",
             [table, title, version](const Request&) {
               return Response::Json(table->OpenApi(title, version));
             },
             {.summary = "This document: OpenAPI 3 of every route",
              .tag = "Documentation",
              .parameters = nlohmann::json::array(),
              .request_body = nullptr,
              .responses = nullptr,
              .permission = Permission::kPublic});
  router.Add(
      "GET", "/docs",
      [](const Request&) {
        Response r;
        r.content_type = "text/html; charset=utf-8";
        r.body = DocsPageHtml();
        return r;
      },
      {"The API's documentation page (HTML)",
       "Documentation",
       nlohmann::json::array(),
       nullptr,
       {{"200", {{"description", "HTML"}, {"content", {{"text/html", nlohmann::json::object()}}}}}},
       Permission::kPublic});
  // The page's script and styles are files of their own, so that its Content-Security-Policy
  // can forbid inline script and style.
  router.Add("GET", "/docs.js", [](const Request&) { return Asset(DocsScript(), kScriptType); },
             {.summary = "The documentation page's script",
              .tag = "Documentation",
              .parameters = nlohmann::json::array(),
              .request_body = nullptr,
              .responses = nullptr,
              .permission = Permission::kPublic});
  router.Add("GET", "/docs.css", [](const Request&) { return Asset(DocsStyle(), kStyleType); },
             {.summary = "The documentation page's styles",
              .tag = "Documentation",
              .parameters = nlohmann::json::array(),
              .request_body = nullptr,
              .responses = nullptr,
              .permission = Permission::kPublic});
  router.Add("GET", "/",
             [](const Request&) {
               Response r;
               r.status = 307;
               r.content_type = "text/plain";
               r.body = "See /docs";
               r.headers.emplace_back("Location", "/docs");
               return r;
             },
             {"Redirects to /docs",
              "Documentation",
              nlohmann::json::array(),
              nullptr,
              {{"307", {{"description", "Redirect to /docs"}}}},
              Permission::kPublic});
}

const std::string& DocsPageHtml() {
  static const std::string html = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MigsbyU API</title>
<link rel="stylesheet" href="docs.css">
</head>
<body>
<header><h1 id="title">MigsbyU API</h1><p id="subtitle">Loading openapi.json…</p></header>
<main><p><label>Bearer token for "Try it" (signed in to the UI, the session cookie is sent anyway): <input id="token" type="password" autocomplete="off" size="50"></label></p><nav id="nav"></nav><div id="ops"></div></main>
<script src="docs.js"></script>
</body>
</html>
)html";
  return html;
}

const std::string& DocsScript() {
  static const std::string script = R"js("use strict";
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e[k] = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
let spec = null;
const resolve = (s) => {
  if (s && s.$ref) return spec.components.schemas[s.$ref.split("/").pop()] || s;
  return s || {};
};
const schemaName = (s) => (s && s.$ref ? s.$ref.split("/").pop() : "");
function schemaTable(schema) {
  schema = resolve(schema);
  if (schema.type === "array") return el("p", {}, "An array of ", el("code", {}, schemaName(schema.items) || "items"), ".");
  if (!schema.properties) return el("pre", {}, JSON.stringify(schema, null, 2));
  const req = new Set(schema.required || []);
  const t = el("table", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Type"), el("th", {}, "Rules"), el("th", {}, "Description")));
  for (const [name, p] of Object.entries(schema.properties)) {
    const rules = [];
    if (req.has(name)) rules.push("required");
    for (const k of ["minimum", "maximum", "minLength", "maxLength", "pattern", "format"]) if (p[k] !== undefined) rules.push(k + " " + p[k]);
    if (p.enum) rules.push("one of " + p.enum.join(", "));
    t.append(el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, p.type || ""), el("td", {}, rules.join("; ")), el("td", {}, p.description || "")));
  }
  return t;
}
function example(schema) {
  schema = resolve(schema);
  const out = {};
  for (const [name, p] of Object.entries(schema.properties || {})) if (p.example !== undefined) out[name] = p.example;
  return JSON.stringify(out, null, 2);
}
function operation(path, method, op) {
  const M = method.toUpperCase();
  const body = el("div", { class: "body" });
  if (op.summary) body.append(el("p", {}, op.summary));
  if (op["x-permission"]) body.append(el("p", { class: "muted" }, "Requires the " + op["x-permission"] + " permission: " + (op["x-roles"] || []).join(", ")));
  const inputs = {};
  if (op.parameters && op.parameters.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "Parameter"), el("th", {}, "In"), el("th", {}, "Value"), el("th", {}, "Description")));
    for (const p of op.parameters) {
      const input = el("input", { placeholder: p.schema && p.schema.default !== undefined ? String(p.schema.default) : "" });
      inputs[p.in + ":" + p.name] = input;
      t.append(el("tr", {}, el("td", {}, el("code", {}, p.name + (p.required ? " *" : ""))), el("td", {}, p.in), el("td", {}, input), el("td", {}, p.description || "")));
    }
    body.append(el("h4", {}, "Parameters"), t);
  }
  let textarea = null;
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    textarea = el("textarea", {}, example(schema));
    body.append(el("h4", {}, "Body ", el("code", {}, schemaName(schema))), schemaTable(schema), textarea);
  }
  const rt = el("table", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "Meaning")));
  for (const [status, r] of Object.entries(op.responses || {})) rt.append(el("tr", {}, el("td", {}, status), el("td", {}, r.description || "")));
  body.append(el("h4", {}, "Responses"), rt);
  const result = el("pre", { class: "muted" }, "");
  const tryIt = async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [key, input] of Object.entries(inputs)) {
      const [where, name] = key.split(":");
      if (!input.value) continue;
      if (where === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
      else if (where === "query") query.set(name, input.value);
    }
    const base = location.pathname.replace(/docs\/?$/, "");
    const full = base.replace(/\/$/, "") + url + (query.toString() ? "?" + query : "");
    const init = { method: M, headers: {} };
    if (textarea) { init.body = textarea.value; init.headers["Content-Type"] = "application/json"; }
    const token = document.getElementById("token").value.trim();
    if (token) init.headers["Authorization"] = "Bearer " + token;
    result.textContent = M + " " + full + " …";
    try {
      const res = await fetch(full, init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
      const total = res.headers.get("X-Total-Count");
      result.textContent = res.status + " " + res.statusText + (total !== null ? "  (X-Total-Count: " + total + ")" : "") + "\n" + shown;
    } catch (e) { result.textContent = String(e); }
  };
  if (!(op.responses && op.responses["200"] && op.responses["200"].content && op.responses["200"].content["text/event-stream"])) {
    body.append(el("p", {}, el("button", { onclick: tryIt }, "Try it")), result);
  }
  return el("details", {}, el("summary", {}, el("span", { class: "m " + M }, M), path, el("span", { class: "sum" }, op.summary || "")), body);
}
fetch("openapi.json").then((r) => r.json()).then((s) => {
  spec = s;
  document.getElementById("title").textContent = s.info.title + " " + s.info.version;
  const count = Object.values(s.paths).reduce((n, p) => n + Object.keys(p).length, 0);
  document.getElementById("subtitle").textContent = count + " operations, from openapi.json (OpenAPI " + s.openapi + ")";
  const groups = new Map();
  for (const [path, methods] of Object.entries(s.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || "Other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push([path, method, op]);
    }
  }
  const ops = document.getElementById("ops"), nav = document.getElementById("nav");
  for (const [tag, list] of groups) {
    const id = "tag-" + tag.replace(/\W+/g, "-");
    nav.append(el("a", { href: "#" + id }, tag));
    ops.append(el("h2", { id }, tag));
    for (const [path, method, op] of list) ops.append(operation(path, method, op));
  }
}).catch((e) => { document.getElementById("subtitle").textContent = "Could not load openapi.json: " + e; });
)js";
  return script;
}

const std::string& DocsStyle() {
  static const std::string style =
      R"css(  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #23395d; color: #fff; padding: 18px 32px; }
  header h1 { margin: 0; font-size: 22px; }
  header p { margin: 4px 0 0; opacity: .85; }
  main { max-width: 1100px; margin: 0 auto; padding: 16px 32px 64px; }
  nav a { margin-right: 12px; color: #23395d; }
  h2 { margin-top: 32px; border-bottom: 2px solid #d8dce3; padding-bottom: 4px; }
  details { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; margin: 8px 0; }
  summary { cursor: pointer; padding: 8px 12px; font-family: ui-monospace, monospace; }
  summary .sum { font-family: system-ui, sans-serif; color: #555; margin-left: 12px; }
  .m { display: inline-block; min-width: 64px; text-align: center; border-radius: 4px;
       color: #fff; font-weight: 600; margin-right: 8px; padding: 0 6px; }
  .GET { background: #2f7ebc; } .POST { background: #2e9d5b; } .PUT { background: #c27c0e; }
  .PATCH { background: #7c5cbf; } .DELETE { background: #c0392b; }
  .body { padding: 4px 16px 16px; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0; }
  th, td { text-align: left; border-bottom: 1px solid #eceef2; padding: 4px 8px; vertical-align: top; }
  code, pre, textarea, input { font-family: ui-monospace, monospace; font-size: 13px; }
  pre { background: #f0f2f5; padding: 8px; overflow: auto; max-height: 360px; }
  textarea { width: 100%; min-height: 90px; }
  button { background: #23395d; color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; cursor: pointer; }
  .muted { color: #666; }
)css";
  return style;
}

}  // namespace migsbyu::portal
