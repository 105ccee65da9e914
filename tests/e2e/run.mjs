#!/usr/bin/env node
// End-to-end browser tests of the MigsbyU portal.
//
//   node run.mjs --binary build/x/src/app/migsbyu --web-dir web/dist --out test-output/e2e
//
// Creates a fresh database on the cluster named by MIGSBYU_TEST_DATABASE_URL (scripts/test.sh
// starts one), starts `migsbyu serve` on it with a temporary lake and loopback ports the server
// picks itself (sign-in on: the first run prints the admin's password, which the scenarios sign
// in with; API calls made from here carry an admin token made with `migsbyu token create`),
// drives Debian's headless Chromium through playwright-core over the scenarios in scenarios.mjs,
// saves a screenshot of every page into --out, then stops the server with SIGINT and drops the
// database with its replication slots. Scenarios that need the analytics pipeline are
// skipped, with the reason printed, when GET /api/analytics/status says it is not available.
// Exits non-zero on any failure; the last line is "N passed, M failed, K skipped".
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { scenarios } from "./scenarios.mjs";

const kChromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];
const kServerStartMs = 120_000;
const kServerStopMs = 30_000;

function parseArgs(argv) {
  const args = { chromium: process.env.MIGSBYU_CHROMIUM ?? "/usr/bin/chromium", only: null };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === "--binary") args.binary = value;
    else if (key === "--web-dir") args.webDir = value;
    else if (key === "--out") args.out = value;
    else if (key === "--chromium") args.chromium = value;
    else if (key === "--only") args.only = new RegExp(value);
    else throw new Error(`run.mjs: unknown argument ${key}`);
    i++;
  }
  for (const required of ["binary", "webDir", "out"]) {
    if (!args[required]) throw new Error(`run.mjs: --${required.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} is required`);
  }
  return args;
}

const started = Date.now();
const log = (...parts) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...parts);

function psql(url, sql) {
  const r = spawnSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], { encoding: "utf8" });
  if (r.error) throw new Error(`psql could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`psql failed on ${JSON.stringify(sql)}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

// Polls `probe` until it returns a truthy value or `ms` pass; rejects naming `what`.
export async function until(probe, { ms = 30_000, every = 100, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// `migsbyu serve` on `databaseUrl`: with capture into `lakeDir`, or `extra` options instead (a
// second server for one scenario). Resolves once /api/health answers, with its base URL and
// everything it printed so far (`output()`).
async function startServer(args, databaseUrl, lakeDir, out, { extra = null, log = "server.log" } = {}) {
  const logFile = createWriteStream(join(out, log));
  const child = spawn(
    args.binary,
    [
      "serve",
      "--database-url", databaseUrl,
      "--api-address", "127.0.0.1:0",
      "--web-address", "127.0.0.1:0",
      "--web-dir", resolve(args.webDir),
      ...(extra ?? [
        "--lake-dir", lakeDir,
        // Slot names are per cluster: the database's own name keeps runs apart.
        "--slot", new URL(databaseUrl).pathname.slice(1),
        "--publication", "e2e",
      ]),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (chunk) => {
      output += chunk.toString();
      logFile.write(chunk);
    });
  }
  const base = await until(
    () => {
      if (exited) throw new Error(`migsbyu serve exited (${JSON.stringify(exited)}):\n${output.slice(-2000)}`);
      const m = /UI:\s+(http:\/\/[\d.]+:\d+)/.exec(output);
      return m ? m[1] : null;
    },
    { ms: kServerStartMs, what: "migsbyu serve to print its UI address" },
  ).catch((err) => {
    if (!exited) child.kill("SIGKILL");
    throw err;
  });
  await until(
    async () => {
      if (exited) throw new Error(`migsbyu serve exited (${JSON.stringify(exited)})`);
      return (await fetch(`${base}/api/health`)).ok;
    },
    { ms: kServerStartMs, what: `${base}/api/health` },
  );
  const stop = async () => {
    if (exited) return exited;
    child.kill("SIGINT");
    try {
      await until(() => exited, { ms: kServerStopMs, what: "migsbyu serve to stop after SIGINT" });
    } catch (err) {
      child.kill("SIGKILL");
      await until(() => exited, { ms: 10_000, what: "migsbyu serve to die" });
      throw err;
    } finally {
      logFile.end();
    }
    return exited;
  };
  return { base, stop, exited: () => exited, output: () => output };
}

// Runs a `migsbyu` command to completion; its stdout, or an error with its stderr.
function migsbyu(args, command, input) {
  const r = spawnSync(args.binary, command, { encoding: "utf8", input });
  if (r.error) throw new Error(`migsbyu ${command[0]} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`migsbyu ${command.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

// Whether the analytics pipeline answers and captures; the reason when it does not. Capture
// starts beside the server, so a "not running" answer is asked again until `ms` pass.
async function probeAnalytics(base, token, ms = 30_000) {
  let reason = null;
  try {
    await until(
      async () => {
        const res = await fetch(`${base}/api/analytics/status`, { headers: { Authorization: `Bearer ${token}` } });
        const text = await res.text();
        if (!res.ok) {
          reason = `GET /api/analytics/status answered ${res.status}: ${text.slice(0, 160)}`;
          return res.status === 404 ? "final" : false;
        }
        const status = JSON.parse(text);
        if (status.capture_running === true) {
          reason = null;
          return true;
        }
        reason = `GET /api/analytics/status says capture_running is ${status.capture_running}`;
        return false;
      },
      { ms, every: 250, what: "capture to run" },
    );
  } catch (err) {
    reason ??= `GET /api/analytics/status failed: ${err.message}`;
  }
  return reason;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const out = resolve(args.out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const serverUrl = process.env.MIGSBYU_TEST_DATABASE_URL;
  if (!serverUrl) throw new Error("MIGSBYU_TEST_DATABASE_URL is not set: run through scripts/test.sh (make test)");
  if (!existsSync(join(args.webDir, "index.html"))) throw new Error(`${args.webDir}/index.html is missing: build the front-end first (make web)`);
  if (!existsSync(args.binary)) throw new Error(`${args.binary} does not exist: build the migsbyu target first`);
  if (!existsSync(args.chromium)) throw new Error(`${args.chromium} does not exist: install Debian's chromium (scripts/setup.sh)`);

  // playwright-core lives in the front-end's node_modules.
  const require = createRequire(join(resolve(args.webDir), "..", "package.json"));
  const { chromium } = require("playwright-core");

  const dbName = `e2e_web_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = withDatabase(serverUrl, dbName);
  const lakeDir = mkdtempSync(join(tmpdir(), "migsbyu-e2e-lake-"));
  const profileDir = mkdtempSync(join(tmpdir(), "migsbyu-e2e-chromium-"));
  const results = [];
  let server = null;
  let context = null;
  const cleanupErrors = [];

  try {
    psql(serverUrl, `CREATE DATABASE ${dbName}`);
    log(`database ${dbName} created`);
    server = await startServer(args, databaseUrl, lakeDir, out);
    log(`server up at ${server.base}`);
    const adminPassword = /password:\s+(\S+)/.exec(server.output())?.[1];
    if (!adminPassword) throw new Error(`the first run printed no admin password:\n${server.output().slice(-2000)}`);
    // The token API calls from here carry, made the way a script's is; the server sees it within
    // its poll interval.
    const token = migsbyu(args, ["token", "create", "--database-url", databaseUrl, "--role", "admin", "--name", "e2e-runner"]).trim();
    await until(async () => (await fetch(`${server.base}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } })).ok, {
      what: "the server to admit the runner's token",
    });
    const analyticsUnavailable = await probeAnalytics(server.base, token);
    if (analyticsUnavailable) log(`analytics pipeline not available: ${analyticsUnavailable}`);
    // The routes the server documents: a scenario whose route is not served is skipped, saying so.
    const served = await fetch(`${server.base}/api/openapi.json`)
      .then((r) => r.json())
      .then((doc) => new Set(Object.keys(doc.paths ?? {})))
      .catch(() => null);

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: args.chromium,
      headless: true,
      args: kChromiumArgs,
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    // A Content-Security-Policy violation (an inline script or style the policy refuses) is an
    // error of the page, so that no scenario passes with a part of the UI blocked.
    await context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) =>
        console.error(`Content-Security-Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`),
      );
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    const pageErrors = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // Uncaught exceptions fail the scenario; failed requests are the scenarios' own business
    // (the UI shows the server's answer), so console messages about them are only logged.
    page.on("console", (msg) => msg.type() === "error" && !/Failed to load resource/.test(msg.text()) && pageErrors.push(`console: ${msg.text()}`));

    let shotIndex = 0;
    const ctx = {
      page,
      context,
      chromium,
      chromiumArgs: { executablePath: args.chromium, headless: true, args: kChromiumArgs },
      base: server.base,
      out,
      state: {},
      figures: {},
      until,
      log,
      adminPassword,
      // A `migsbyu` command on the test database; its stdout.
      migsbyu: (command, input) => migsbyu(args, [...command, "--database-url", databaseUrl], input),
      // A second `migsbyu serve` on the same database (no capture) with `extra` options; the
      // scenario stops it.
      startServer: (extra, name) => startServer(args, databaseUrl, null, out, { extra: ["--no-pipeline", ...extra], log: `server-${name}.log` }),
      async goto(path) {
        await page.goto(`${server.base}${path}`, { waitUntil: "load" });
      },
      async shot(name) {
        shotIndex++;
        const file = join(out, `${String(shotIndex).padStart(2, "0")}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      // SQL straight on the test database, as psql outside MigsbyU: the first column of each row.
      sql(query) {
        return psql(databaseUrl, query);
      },
      // An API call as the runner's admin token, or with `auth`: {token} or {cookie} ("" for none).
      async api(method, path, body, auth = { token }) {
        const headers = {};
        if (body !== undefined) headers["Content-Type"] = "application/json";
        if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
        if (auth.cookie) headers.Cookie = `migsbyu_session=${auth.cookie}`;
        const res = await fetch(`${server.base}/api${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          json = text;
        }
        return { status: res.status, body: json, headers: res.headers };
      },
    };

    for (const scenario of scenarios) {
      if (args.only && !args.only.test(scenario.name)) continue;
      if (scenario.analytics && analyticsUnavailable) {
        log(`SKIP ${scenario.name}: skipped: analytics pipeline not available: ${analyticsUnavailable}`);
        results.push({ name: scenario.name, result: "skipped", reason: `analytics pipeline not available: ${analyticsUnavailable}` });
        continue;
      }
      const unserved = served ? (scenario.routes ?? []).filter((r) => !served.has(r)) : [];
      if (unserved.length) {
        const reason = `the server does not serve ${unserved.map((r) => `/api${r}`).join(", ")} (not in /api/openapi.json)`;
        log(`SKIP ${scenario.name}: skipped: ${reason}`);
        results.push({ name: scenario.name, result: "skipped", reason });
        continue;
      }
      const missing = (scenario.after ?? []).filter((dep) => results.find((r) => r.name === dep)?.result !== "passed");
      if (missing.length) {
        log(`FAIL ${scenario.name}: depends on scenarios that did not pass: ${missing.join(", ")}`);
        results.push({ name: scenario.name, result: "failed", reason: `depends on: ${missing.join(", ")}` });
        continue;
      }
      const t0 = Date.now();
      pageErrors.length = 0;
      try {
        await scenario.run(ctx);
        if (pageErrors.length) throw new Error(`the page reported errors: ${pageErrors.join(" | ")}`);
        log(`PASS ${scenario.name} (${Date.now() - t0} ms)`);
        results.push({ name: scenario.name, result: "passed", ms: Date.now() - t0 });
      } catch (err) {
        const message = (err && err.message) || String(err);
        log(`FAIL ${scenario.name}: ${message}`);
        try {
          await ctx.shot(`FAILED-${scenario.name.replace(/[^a-z0-9]+/gi, "-")}`);
        } catch {
          /* the page may be gone */
        }
        results.push({ name: scenario.name, result: "failed", reason: message, ms: Date.now() - t0 });
      }
    }
    if (Object.keys(ctx.figures).length) log("figures:", JSON.stringify(ctx.figures));
    writeFileSync(join(out, "figures.json"), JSON.stringify(ctx.figures, null, 2));
  } catch (err) {
    results.push({ name: "setup", result: "failed", reason: err.message });
    log(`FAIL setup: ${err.message}`);
  } finally {
    if (context) await context.close().catch((e) => cleanupErrors.push(`closing Chromium: ${e.message}`));
    if (server) {
      try {
        const exit = await server.stop();
        log(`server stopped (${JSON.stringify(exit)})`);
        if (exit.code !== 0 && exit.signal !== "SIGINT") cleanupErrors.push(`migsbyu serve exited with ${JSON.stringify(exit)} after SIGINT`);
      } catch (err) {
        cleanupErrors.push(err.message);
      }
    }
    try {
      psql(serverUrl, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '${dbName}'`);
      psql(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      log(`database ${dbName} dropped`);
    } catch (err) {
      cleanupErrors.push(err.message);
    }
    rmSync(lakeDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  }
  for (const e of cleanupErrors) {
    log(`FAIL cleanup: ${e}`);
    results.push({ name: "cleanup", result: "failed", reason: e });
  }
  writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 2));
  const count = (r) => results.filter((x) => x.result === r).length;
  const passed = count("passed");
  const failed = count("failed");
  const skipped = count("skipped");
  for (const r of results.filter((x) => x.result !== "passed")) log(`${r.result}: ${r.name}: ${r.reason}`);
  log(`screenshots and server.log in ${out}`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err.stack || String(err));
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
});
