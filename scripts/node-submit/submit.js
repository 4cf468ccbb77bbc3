#!/usr/bin/env node
// MedVault patient-portal client: encrypt ONE medical record under the vault's public key and
// attach a zero-knowledge proof that every ciphertext is well formed (Zama's node-tfhe, wasm).
//
//   node submit.js --layout LAYOUT.json --key submission.key --crs submission.crs \
//                  (--record RECORD.json | --stored v1,v2,...) [--id ID] --out FILE
//
//   --layout  medvault-submission-layout/1 JSON written by the vault (fields, slots, keyId, schema;
//             its submissionKeySha256 / crsSha256, when present, must match --key / --crs)
//   --key     safe_serialize'd CompactPublicKey (dedicated ZK PKE params, tag = 32-byte key id)
//   --crs     safe_serialize'd CompactPkeCrs
//   --record  one JSON object, field name -> clear value; the record id is its `idField`
//   --stored  raw stored value per slot, only checked against the slot's bit width
//             (for crafting hostile records in tests); needs --id
//   --id      record id (overrides the record's `idField`)
//   --out     FILE = "MEDVAULT-RECORD v2\n" + {"recordId","keyId","schemaSha256"} JSON line + "\n"
//             + the proven list's safe_serialize bytes; written atomically (temp file + rename)
//
// Encoding (stored values): uint: value - offset; decimal: value*10^scale - offset (exact, or
// rounded half to even when the field has round=true); category: index of the value in `codes`;
// bool: 1/0. Each must lie in 0..maxStored; a square slot holds stored^2.
// The proof is bound to metadata "medvault-record-v2\0<keyId>\0<schemaSha256>\0<recordId>".
//
// stdout: one JSON object {recordId, bytes, proveSeconds, listBytes}.
// Errors: one line on stderr; exit 2 = bad input (arguments, layout, record), 1 = anything else.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const tfhe = require('node-tfhe');

const LIMIT = 1n << 30n; // safe_(de)serialize size limit: 1 GiB
const TYPES = { bool: [1, 'push_boolean'], u8: [8, 'push_u8'], u16: [16, 'push_u16'],
  u32: [32, 'push_u32'], u64: [64, 'push_u64'] };
const BOOLS = new Map([[false, 0n], [true, 1n], ['false', 0n], ['true', 1n], [0, 0n], [1, 1n]]);

class BadInput extends Error {}
const bad = (msg) => { throw new BadInput(msg); };

function readInput(file, what) {
  try { return fs.readFileSync(file); } catch (e) { return bad(`cannot read ${what} ${file}: ${e.code ?? e.message}`); }
}
function readJson(file, what) {
  try { return JSON.parse(readInput(file, what).toString('utf8')); } catch (e) {
    return bad(e instanceof BadInput ? e.message : `${what} ${file} is not valid JSON: ${e.message}`);
  }
}

// Exact value * 10^scale as a BigInt; not an integer -> error, or round half to even if allowed.
function scaled(name, value, scale, round) {
  const m = (typeof value === 'number' || typeof value === 'string')
    && /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,3}))?$/i.exec(String(value).trim());
  if (!m || !(m[2] || m[3])) bad(`field ${name}: not a number: ${JSON.stringify(value)}`);
  const [, sign, int, frac = '', exp = '0'] = m;
  const digits = int + frac;
  const shift = Number(exp) + scale - frac.length; // value*10^scale = digits * 10^shift
  let q = shift >= 0 ? BigInt(digits) * 10n ** BigInt(shift) : BigInt(digits.slice(0, shift) || '0');
  const dropped = shift >= 0 ? '' : digits.slice(shift).padStart(-shift, '0');
  if (/[1-9]/.test(dropped)) {
    if (!round) bad(`field ${name}: ${value} ${scale ? `has more than ${scale} decimal places` : 'is not an integer'}`);
    const half = '5'.padEnd(dropped.length, '0'); // round half to even, as the vault's Java encoder does
    if (dropped > half || (dropped === half && q % 2n === 1n)) q += 1n;
  }
  return sign === '-' ? -q : q;
}

function encodeField(f, value) {
  if (value === undefined || value === null) bad(`field ${f.name}: missing`);
  let stored;
  if (f.kind === 'uint') stored = scaled(f.name, value, 0, false) - f.offset;
  else if (f.kind === 'decimal') stored = scaled(f.name, value, f.scale, f.round) - f.offset;
  else if (f.kind === 'category') {
    const i = typeof value === 'string' || typeof value === 'number' ? (f.codes ?? []).map(String).indexOf(String(value)) : -1;
    if (i < 0) bad(`field ${f.name}: ${JSON.stringify(value)} is not one of ${JSON.stringify(f.codes)}`);
    stored = BigInt(i);
  } else if (f.kind === 'bool') {
    stored = BOOLS.get(value) ?? bad(`field ${f.name}: ${JSON.stringify(value)} is not a boolean`);
  } else bad(`field ${f.name}: unknown kind ${JSON.stringify(f.kind)}`);
  if (stored < 0n || stored > f.maxStored) bad(`field ${f.name}: ${JSON.stringify(value)} is outside the allowed range (stored ${stored}, max ${f.maxStored})`);
  return stored;
}

function checkLayout(layout) {
  const hex64 = /^[0-9a-f]{64}$/;
  if (layout?.format !== 'medvault-submission-layout/1') bad('layout: format is not medvault-submission-layout/1');
  if (!hex64.test(layout.keyId) || !hex64.test(layout.schemaSha256)) bad('layout: keyId and schemaSha256 must be 64 lowercase hex digits');
  if (!Array.isArray(layout.fields) || !Array.isArray(layout.slots) || layout.slots.length === 0) bad('layout: fields and slots must be arrays');
  for (const f of layout.fields) { // normalise: offset and maxStored as BigInt
    try {
      Object.assign(f, { offset: BigInt(f.offset ?? 0), maxStored: BigInt(f.maxStored), scale: f.scale ?? 0, round: f.round === true });
    } catch { bad(`layout: field ${f.name}: offset and maxStored must be integers`); }
    if (!Number.isInteger(f.scale) || f.scale < 0 || f.scale > 30) bad(`layout: field ${f.name}: bad scale`);
  }
  for (const s of layout.slots) {
    if (!TYPES[s.type]) bad(`layout: slot ${s.field} has unknown type ${JSON.stringify(s.type)}`);
    if (!layout.fields.some((f) => f.name === s.field)) bad(`layout: slot refers to unknown field ${s.field}`);
  }
}

// Stored value of every slot, in slot order.
function storedFromRecord(layout, record) {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) bad('record: not a JSON object');
  for (const k of Object.keys(record)) {
    if (k !== layout.idField && !layout.fields.some((f) => f.name === k)) bad(`field ${k}: unknown`);
  }
  const stored = new Map(layout.fields.map((f) => [f.name, encodeField(f, record[f.name])]));
  return layout.slots.map((s) => (s.square ? stored.get(s.field) ** 2n : stored.get(s.field)));
}

function main() {
  let a;
  try {
    a = parseArgs({ options: { layout: { type: 'string' }, key: { type: 'string' }, crs: { type: 'string' },
      record: { type: 'string' }, stored: { type: 'string' }, id: { type: 'string' }, out: { type: 'string' } } }).values;
  } catch (e) { bad(e.message); }
  if (!a.layout || !a.key || !a.crs || !a.out || !a.record === !a.stored) {
    bad('usage: node submit.js --layout L.json --key K --crs C (--record R.json | --stored v1,v2,...) [--id ID] --out FILE');
  }
  try { fs.accessSync(path.dirname(path.resolve(a.out)), fs.constants.W_OK); } catch (e) { bad(`cannot write ${a.out}: ${e.code}`); }
  const layout = readJson(a.layout, 'layout');
  checkLayout(layout);

  let values;
  let recordId = a.id;
  if (a.record) {
    const record = readJson(a.record, 'record');
    values = storedFromRecord(layout, record);
    recordId ??= (typeof record[layout.idField] === 'string' || typeof record[layout.idField] === 'number')
      ? String(record[layout.idField]) : undefined;
  } else {
    values = a.stored.split(',').map((v) => (/^\d+$/.test(v.trim()) ? BigInt(v.trim()) : bad(`--stored: ${JSON.stringify(v)} is not a non-negative integer`)));
    if (values.length !== layout.slots.length) bad(`--stored: ${values.length} values for ${layout.slots.length} slots`);
  }
  if (!recordId?.trim() || recordId.includes('\0')) bad(`record id missing or invalid (field ${layout.idField} or --id)`);
  layout.slots.forEach((s, i) => {
    if (values[i] >= 1n << BigInt(TYPES[s.type][0])) bad(`field ${s.field}: stored value ${values[i]} does not fit slot type ${s.type}${s.square ? ' (square)' : ''}`);
  });
  const header = `MEDVAULT-RECORD v2\n${JSON.stringify({ recordId, keyId: layout.keyId, schemaSha256: layout.schemaSha256 })}\n`;
  if (Buffer.byteLength(header) > 4096) bad('record id too long'); // the vault reads at most 4 KiB of header
  const keyBytes = readInput(a.key, 'key');
  const crsBytes = readInput(a.crs, 'crs');
  for (const [what, bytes, want] of [['key', keyBytes, layout.submissionKeySha256], ['crs', crsBytes, layout.crsSha256]]) {
    if (want && crypto.createHash('sha256').update(bytes).digest('hex') !== want) bad(`${what} file is not the one the layout lists (sha256 differs)`);
  }

  // From here on, failures are not the caller's input: exit 1.
  const load = (what, fn) => { try { return fn(); } catch (e) { throw new Error(`cannot load ${what}: ${e?.message ?? e}`); } };
  const publicKey = load(`public key ${a.key}`, () => tfhe.TfheCompactPublicKey.safe_deserialize(keyBytes, LIMIT));
  const crs = load(`CRS ${a.crs}`, () => tfhe.CompactPkeCrs.safe_deserialize(crsBytes, LIMIT));
  const builder = tfhe.CompactCiphertextList.builder(publicKey);
  layout.slots.forEach((s, i) => {
    const v = values[i];
    if (s.type === 'bool') builder.push_boolean(v === 1n);
    else builder[TYPES[s.type][1]](s.type === 'u64' ? v : Number(v));
  });
  const metadata = Buffer.from(`medvault-record-v2\0${layout.keyId}\0${layout.schemaSha256}\0${recordId}`, 'utf8');
  const t0 = process.hrtime.bigint();
  const proven = builder.build_with_proof_packed(crs, metadata, tfhe.ZkComputeLoad.Verify);
  const proveSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const list = proven.safe_serialize(LIMIT);

  const file = Buffer.concat([Buffer.from(header, 'utf8'), list]);
  const tmp = `${a.out}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'wx');
    try { fs.writeFileSync(fd, file); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.renameSync(tmp, a.out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  [proven, builder, crs, publicKey].forEach((x) => x.free());
  process.stdout.write(`${JSON.stringify({ recordId, bytes: file.length, proveSeconds, listBytes: list.length })}\n`);
}

let panic = ''; // a Rust panic's message, without the stack trace console_error_panic_hook adds
console.error = (m) => { panic ||= String(m).split('\n')[0]; };
tfhe.init_panic_hook();
try {
  main();
} catch (e) {
  const msg = (panic || String(e?.message ?? e)).replace(/\s+/g, ' ').trim();
  process.stderr.write(`submit: ${msg || 'failed'}\n`);
  process.exit(e instanceof BadInput ? 2 : 1);
}
