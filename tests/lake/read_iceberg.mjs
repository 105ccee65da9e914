// Reads an Iceberg table with icebird (pure JavaScript, no code of ours) over real HTTP on the
// loopback interface, and prints what it read.
//
// Usage: node read_iceberg.mjs LAKE_ROOT TABLE_PATH METADATA...
//   LAKE_ROOT   the directory served (absolute); TABLE_PATH the table's directory under it
//   METADATA    "vN.metadata.json" to read that version (icebird's time travel), or "latest" to
//               let icebird find the latest version through metadata/version-hint.text
// Prints one JSON line per METADATA: {"metadata": M, "columns": [names], "rows": [[text...]]},
// values as text: integers in decimal, decimals with their scale, floating point in JavaScript's
// shortest form, dates as days since 1970-01-01, timestamps as µs since the epoch, booleans
// true/false, bytes icebird returns undecoded in hexadecimal, NULL for null.
//
// Two adaptations, neither touching how icebird plans a scan or applies deletes:
// - The table's metadata names its files by "file://" URIs, as Spark, Trino and DuckDB want.
//   icebird fetches every location it is given (it translates s3:// URLs to https itself); here
//   fetch translates file://LAKE_ROOT/... to this server's http://127.0.0.1:PORT/... the same way.
// - icebird's Parquet reader (hyparquet) turns timestamps into JavaScript Dates, which hold
//   milliseconds; its exported default parser for microsecond timestamps is replaced so that
//   the values keep their microseconds.
import { createServer } from 'node:http'
import { openSync, readSync, closeSync, statSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { icebergMetadata, icebergRead } from 'icebird'
import { DEFAULT_PARSERS } from './node_modules/icebird/node_modules/hyparquet/src/convert.js'

const [root, tablePath, ...versions] = process.argv.slice(2)
if (!root || !tablePath || versions.length === 0) {
  console.error('usage: node read_iceberg.mjs LAKE_ROOT TABLE_PATH METADATA...')
  process.exit(2)
}
DEFAULT_PARSERS.timestampFromMicroseconds = (us) => BigInt(us)

// A static file server with byte ranges (hyparquet reads Parquet footers and columns by range).
const server = createServer((req, res) => {
  const path = resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname))
  if (!path.startsWith(resolve(root) + sep)) {
    res.writeHead(403).end()
    return
  }
  let size
  try {
    size = statSync(path).size
  } catch {
    res.writeHead(404).end()
    return
  }
  let start = 0
  let end = size - 1
  let status = 200
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
  if (range) {
    start = Number(range[1])
    end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1)
    if (start > end) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end()
      return
    }
    status = 206
  }
  const headers = { 'Content-Length': String(end - start + 1), 'Accept-Ranges': 'bytes' }
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
  res.writeHead(status, headers)
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const body = Buffer.alloc(end - start + 1)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, body, 0, body.length, start)
  } finally {
    closeSync(fd)
  }
  res.end(body)
})
await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
const base = `http://127.0.0.1:${server.address().port}`

const filePrefix = 'file://' + resolve(root) + '/'
const realFetch = globalThis.fetch
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url
  return realFetch(url.startsWith(filePrefix) ? base + '/' + url.slice(filePrefix.length) : url, init)
}

function text(value, type) {
  if (value === null || value === undefined) return 'NULL'
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  const decimal = /^decimal\(\s*\d+\s*,\s*(\d+)\s*\)$/.exec(type)
  if (decimal) return Number(value).toFixed(Number(decimal[1]))
  if (type === 'date') return String(Math.round(value.getTime() / 86400000))
  return String(value)
}

try {
  const tableUrl = `${base}/${tablePath}`
  for (const version of versions) {
    const metadataFileName = version === 'latest' ? undefined : version
    const metadata = await icebergMetadata({ tableUrl, metadataFileName })
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])
    const rows = await icebergRead({ tableUrl, metadataFileName })
    const columns = schema.fields.map((f) => f.name)
    const out = rows.map((row) => schema.fields.map((f) => text(row[f.name], f.type)))
    console.log(JSON.stringify({ metadata: version, columns, rows: out }))
  }
} finally {
  server.close()
}
