// The portal's self-description: GET /openapi.json, GET /docs (with /docs.js and /docs.css) and
// GET / (a redirect to /docs).
//
// /openapi.json is generated from the Router at request time, so it lists every route registered
// by any component, including those registered after these. /docs is an HTML page that fetches
// openapi.json beside it and renders every operation with its parameters, body schema and
// responses, and a form to try it. Its script and styles are served beside it (/docs.js,
// /docs.css), never inline and never from a CDN, so that the page works under the server's
// Content-Security-Policy (script-src 'self'; style-src 'self').
//
// The three are public (the API's description is no secret). The docs page shows each
// operation's required permission and roles (x-permission, x-roles) and takes a bearer token
// for its "Try it" calls; in a browser signed in to the UI, the session cookie is sent anyway.
//
// Threading: the handlers only read the Router, which is not modified while serving.
#pragma once

#include <string>

#include "portal/router.h"

namespace migsbyu::portal {

// REQUIRES: `router` outlives its use by the server.
void RegisterDocs(Router& router, std::string title, std::string version);

// The HTML of the docs page, its script and its styles.
const std::string& DocsPageHtml();
const std::string& DocsScript();
const std::string& DocsStyle();

}  // namespace migsbyu::portal
