// Reads one Parquet file with hyparquet (pure JavaScript, no DuckDB) and prints each row as a
// JSON array of strings: numbers in their shortest form (decimals with their scale), timestamps as µs
// since the epoch, dates as days since the epoch, booleans as true/false, null as "NULL".
// Usage: node read_parquet.mjs FILE
import { readFileSync } from 'node:fs'
import { parquetReadObjects, parquetSchema, parquetMetadata } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const bytes = readFileSync(process.argv[2])
const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
const parsers = {
  timestampFromMilliseconds: (ms) => (BigInt(ms) * 1000n).toString(),
  timestampFromMicroseconds: (us) => BigInt(us).toString(),
  timestampFromNanoseconds: (ns) => (BigInt(ns) / 1000n).toString(),
  dateFromDays: (days) => String(days),
  stringFromBytes: (b) => b && new TextDecoder().decode(b),
  jsonFromBytes: (b) => b && new TextDecoder().decode(b),
}
const columns = parquetSchema(parquetMetadata(file)).children.map((c) => c.element)
const rows = await parquetReadObjects({ file, compressors, parsers })
const isDecimal = (e) => e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL'
const text = (v, e) =>
  v === null || v === undefined ? 'NULL' : isDecimal(e) ? Number(v).toFixed(e.scale ?? 0) : String(v)
for (const row of rows) console.log(JSON.stringify(columns.map((e) => text(row[e.name], e))))
