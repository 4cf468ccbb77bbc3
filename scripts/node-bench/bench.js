#!/usr/bin/env node
// Baseline benchmark of Zama's `node-tfhe` npm package (TFHE-rs compiled to WebAssembly,
// run in Node). It is the "what a user would pick instead" reference for scripts/bench,
// which runs it and compares against MedVault's JNI wrapper of native TFHE-rs.
//
// Usage:   node scripts/node-bench/bench.js [REPS]      (REPS defaults to 3)
// Output:  stdout gets exactly ONE JSON object; progress and diagnostics go to stderr.
//   "<op>/<...>"   mean wall-clock seconds over REPS runs, after one untimed warm-up run
//   "bytes/<...>"  sizes in bytes (not seconds)
//   "meta"         versions, parameter set, thread count, and ops the JS API lacks
// Parameters: TfheConfigBuilder.default().build(); the script checks that this matches
// PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128 (byte-identical seeded client keys).
'use strict';

const tfhe = require('node-tfhe');
const tfhePkg = require('node-tfhe/package.json');

const REPS = Number.parseInt(process.argv[2] ?? '3', 10);
if (!Number.isInteger(REPS) || REPS < 1) {
  console.error(`usage: node bench.js [REPS>=1], got ${process.argv[2]}`);
  process.exit(2);
}
const LIMIT = BigInt(1 << 30); // safe_(de)serialize size limit: 1 GiB
const V8 = 173;
const V16 = 51234;
const LIST = [0, 1, 2, 3, 42, 100, 127, 128, 200, 255];

const log = (...a) => console.error('[node-bench]', ...a);
const release = (x) => { if (x && typeof x.free === 'function') x.free(); };
function check(cond, what) {
  if (!cond) throw new Error(`correctness check failed: ${what}`);
}

const results = {};
// One warm-up run, then REPS timed runs; records the mean in seconds and returns the
// last run's result (earlier results are freed so the wasm heap does not grow).
// Fast operations (under 10 ms) warm up for 0.1 s and run for at least 0.25 s — the same policy as
// MedVault's Bench.java and the Rust baseline, so microsecond rows compare like with like.
function bench(name, fn) {
  const now = () => process.hrtime.bigint();
  const t00 = now();
  let out = fn();
  let total = 0n;
  let runs = 0;
  if (now() - t00 < 10_000_000n) {
    const w = now();
    while (now() - w < 100_000_000n) {
      release(out);
      out = fn();
    }
    const t = now();
    while (runs < REPS || now() - t < 250_000_000n) {
      release(out);
      out = fn();
      runs++;
    }
    total = now() - t;
  } else {
    for (; runs < REPS; runs++) {
      release(out);
      const t0 = now();
      out = fn();
      total += now() - t0;
    }
  }
  results[name] = Number(total) / 1e9 / runs;
  log(`${name}: ${results[name].toFixed(9)} s`);
  return out;
}

function main() {
  tfhe.init_panic_hook(); // Rust panics surface as readable errors on stderr
  const wall0 = process.hrtime.bigint();
  const config = tfhe.TfheConfigBuilder.default().build();

  // Verify the default parameter set: same seed -> identical client key bytes
  // (the serialized client key embeds its parameters).
  const PNAME = tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128;
  const explicitCfg = tfhe.TfheConfigBuilder
    .with_custom_parameters(new tfhe.ShortintParameters(PNAME)).build();
  const a = tfhe.TfheClientKey.generate_with_seed(config, 1234n).safe_serialize(LIMIT);
  const b = tfhe.TfheClientKey.generate_with_seed(explicitCfg, 1234n).safe_serialize(LIMIT);
  const paramsVerified = Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
  const params = paramsVerified ? tfhe.shortint_params_name(PNAME) : 'default (unverified)';
  log(`params: ${params}, reps: ${REPS}`);

  // Keys
  const ck = bench('keygen/client', () => tfhe.TfheClientKey.generate(config));
  const csk = bench('keygen/compressedServer', () => tfhe.TfheCompressedServerKey.new(ck));
  const pk = bench('keygen/publicCompact', () => tfhe.TfheCompactPublicKey.new(ck));

  // Single ciphertexts: encrypt, decrypt, serialize, deserialize
  const ct8 = bench('encrypt/8', () => tfhe.FheUint8.encrypt_with_client_key(V8, ck));
  const ct16 = bench('encrypt/16', () => tfhe.FheUint16.encrypt_with_client_key(V16, ck));
  check(bench('decrypt/8', () => ct8.decrypt(ck)) === V8, 'decrypt/8');
  check(bench('decrypt/16', () => ct16.decrypt(ck)) === V16, 'decrypt/16');
  const ser8 = bench('serialize/8', () => ct8.safe_serialize(LIMIT));
  const ser16 = bench('serialize/16', () => ct16.safe_serialize(LIMIT));
  const de8 = bench('deserialize/8', () => tfhe.FheUint8.safe_deserialize(ser8, LIMIT));
  const de16 = bench('deserialize/16', () => tfhe.FheUint16.safe_deserialize(ser16, LIMIT));
  check(de8.decrypt(ck) === V8 && de16.decrypt(ck) === V16, 'deserialize round trip');

  // Public-key encryption of a compact list of ten FheUint8, then expansion.
  // build() (not build_packed()): a packed list can only be expanded after
  // set_server_key(), which the client side does not have.
  const list = bench('publicEncrypt/list10x8', () => {
    const builder = tfhe.CompactCiphertextList.builder(pk);
    for (const v of LIST) builder.push_u8(v);
    const l = builder.build();
    builder.free();
    return l;
  });
  const listBytes = list.safe_serialize(LIMIT);
  const expanded = bench('expand/list10x8', () => {
    const ex = list.expand();
    const cts = LIST.map((_, i) => ex.get_uint8(i));
    ex.free();
    return { cts, free() { cts.forEach(release); } };
  });
  check(expanded.cts.every((c, i) => c.decrypt(ck) === LIST[i]), 'expand round trip');

  results['bytes/serialized8'] = ser8.length;
  results['bytes/serialized16'] = ser16.length;
  results['bytes/list10x8'] = listBytes.length;
  results['bytes/compressedServerKey'] = csk.safe_serialize(LIMIT).length;

  // Homomorphic ops: node-tfhe's .d.ts gives FheUint8 only decrypt, encrypt_with_*,
  // safe_serialize and safe_deserialize. set_server_key()/TfheServerKey.new() exist,
  // but there is no add/mul/gt, so there is nothing to time.
  const proto = Object.getOwnPropertyNames(tfhe.FheUint8.prototype);
  const hasOps = ['add', 'mul', 'gt'].every((m) => proto.includes(m));
  const missing = {};
  if (!hasOps) {
    missing.ops = 'node-tfhe .d.ts: class FheUint8 has only decrypt, encrypt_with_client_key/'
      + '_public_key/_compressed_public_key, safe_serialize, safe_deserialize; '
      + 'set_server_key() exists but no add/mul/gt (client-side-only JS API)';
  }
  [ck, csk, pk, ct8, ct16, de8, de16, list, expanded].forEach(release);

  results.meta = {
    nodeTfhe: tfhePkg.version,
    node: process.version,
    // The bundled wasm exports its own (non-shared) memory and the package has no
    // initThreadPool/worker code, so everything runs on one thread.
    threads: 1,
    params,
    paramsVerified,
    reps: REPS,
    listBuild: 'build (unpacked); expand timing = expand() + get_uint8 x10, no server key',
    deserialize: 'safe_deserialize(bytes, 1 GiB limit); JS API has no conformance variant for FheUint*',
    missing,
    totalSeconds: Number(process.hrtime.bigint() - wall0) / 1e9,
  };
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

try {
  main();
} catch (err) {
  console.error('[node-bench] FAILED:', err);
  process.exit(1);
}
