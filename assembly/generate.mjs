// Generates assembly/generated.ts: the fully unrolled double SHA-256 of one Bitcoin header per nonce
// (scalar, u32) and per 4 nonces (v128), plus the per-job precomputation that feeds both.
//
// Why a generator: the mining shortcuts are all "evaluate whatever does not depend on the nonce once per
// job". Instead of hand-splitting 125 rounds into per-job and per-nonce halves, we build the hash as an
// expression graph whose leaves are constants, per-job values (midstate, merkle tail, ntime, nbits) and
// the per-nonce word. Constant subtrees fold here, per-job subtrees go into precomputeJob(), and only the
// nonce-dependent rest is emitted into the hot loop. Nodes nothing reads (rounds 61..63 of the second
// hash, the `a` chain of its last rounds, schedule words past W60) are never emitted.
//
// Run: node assembly/generate.mjs   (part of `npm run build:wasm`; the output is committed too)
//      node assembly/generate.mjs --check   (exit 1 when generated.ts is stale)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

// ---- SHA-256 constants, derived rather than typed in (FIPS 180-4 §4.2.2, §5.3.3) ----
function firstPrimes(count) {
  const primes = [];
  for (let n = 2; primes.length < count; n++) if (primes.every((p) => n % p !== 0)) primes.push(n);
  return primes;
}
function integerRoot(value, degree) {
  // Largest r with r^degree <= value (Newton's method on BigInt).
  let r = 1n << BigInt(Math.ceil(value.toString(2).length / degree));
  for (;;) {
    const next = ((BigInt(degree) - 1n) * r + value / r ** BigInt(degree - 1)) / BigInt(degree);
    if (next >= r) break;
    r = next;
  }
  while (r ** BigInt(degree) > value) r--;
  while ((r + 1n) ** BigInt(degree) <= value) r++;
  return r;
}
const PRIMES = firstPrimes(64);
// First 32 bits of the fractional parts of the cube roots of the first 64 primes.
export const K = PRIMES.map((p) => Number(integerRoot(BigInt(p) << 96n, 3) & 0xffffffffn));
// First 32 bits of the fractional parts of the square roots of the first 8 primes.
export const IV = PRIMES.slice(0, 8).map((p) => Number(integerRoot(BigInt(p) << 64n, 2) & 0xffffffffn));

// ---- Expression graph with three kinds of node: const (c), per-job uniform (u), per-nonce varying (v) ----
class Graph {
  constructor() {
    this.nodes = [];
    this.byKey = new Map();
  }
  intern(node, key) {
    const found = this.byKey.get(key);
    if (found) return found;
    node.id = this.nodes.length;
    this.nodes.push(node);
    this.byKey.set(key, node);
    return node;
  }
  c(value) {
    return this.intern({ kind: 'c', op: 'const', value: value >>> 0, args: [] }, `c${value >>> 0}`);
  }
  input(kind, name) {
    return this.intern({ kind, op: 'input', name, args: [] }, `in:${name}`);
  }
  make(op, args, param = 0) {
    const kind = args.some((a) => a.kind === 'v') ? 'v' : args.some((a) => a.kind === 'u') ? 'u' : 'c';
    const ids = args.map((a) => a.id);
    if (op !== 'shr' && op !== 'rotr' && op !== 'shl') ids.sort((x, y) => x - y); // commutative
    return this.intern({ kind, op, args, param }, `${op}:${param}:${ids.join(',')}`);
  }
  xor(a, b) {
    if (a.kind === 'c' && b.kind === 'c') return this.c(a.value ^ b.value);
    if (a.kind === 'c' && a.value === 0) return b;
    if (b.kind === 'c' && b.value === 0) return a;
    return this.make('xor', [a, b]);
  }
  and(a, b) {
    if (a.kind === 'c' && b.kind === 'c') return this.c(a.value & b.value);
    if ((a.kind === 'c' && a.value === 0) || (b.kind === 'c' && b.value === 0)) return this.c(0);
    return this.make('and', [a, b]);
  }
  shr(a, n) {
    return a.kind === 'c' ? this.c(a.value >>> n) : this.make('shr', [a], n);
  }
  rotr(a, n) {
    return a.kind === 'c' ? this.c((a.value >>> n) | (a.value << (32 - n))) : this.make('rotr', [a], n);
  }
  // n-ary add: constants fold, per-job terms sum into one per-job value, only varying terms stay in the loop.
  add(...terms) {
    const flat = [];
    for (const t of terms) {
      // Re-associate (v + u) + u' as v + (u + u') when the inner sum has a single varying term.
      if (t.op === 'add' && t.flat && t.flat.filter((x) => x.kind === 'v').length === 1) flat.push(...t.flat);
      else flat.push(t);
    }
    let constant = 0;
    const uniforms = [];
    const varying = [];
    for (const t of flat) {
      if (t.kind === 'c') constant = (constant + t.value) >>> 0;
      else if (t.kind === 'u') uniforms.push(t);
      else varying.push(t);
    }
    let fixed = null;
    if (uniforms.length > 0) {
      const parts = constant !== 0 ? [...uniforms, this.c(constant)] : uniforms;
      fixed = parts.length === 1 ? parts[0] : this.make('sum', parts);
    } else if (constant !== 0 || varying.length === 0) {
      fixed = this.c(constant);
    }
    if (varying.length === 0) return fixed;
    let acc = varying[0];
    for (let i = 1; i < varying.length; i++) acc = this.make('add', [acc, varying[i]]);
    if (fixed) acc = this.make('add', [acc, fixed]);
    if (acc.op === 'add') acc.flat = fixed ? [...varying, fixed] : varying;
    return acc;
  }
}

// ---- SHA-256 over graph nodes ----
function sha256Rounds(g, state, w, rounds) {
  const bigSigma0 = (x) => g.xor(g.xor(g.rotr(x, 2), g.rotr(x, 13)), g.rotr(x, 22));
  const bigSigma1 = (x) => g.xor(g.xor(g.rotr(x, 6), g.rotr(x, 11)), g.rotr(x, 25));
  const ch = (e, f, h) => g.xor(h, g.and(e, g.xor(f, h)));
  // Maj as b ^ ((a^b) & (b^c)): this round's b^c is the previous round's a^b, shared by interning.
  const maj = (a, b, c) => g.xor(b, g.and(g.xor(a, b), g.xor(b, c)));
  let [a, b, c, d, e, f, gg, h] = state;
  for (let t = 0; t < rounds; t++) {
    const t1 = g.add(h, bigSigma1(e), ch(e, f, gg), g.c(K[t]), w[t]);
    const newA = g.add(t1, bigSigma0(a), maj(a, b, c));
    const newE = g.add(d, t1);
    [a, b, c, d, e, f, gg, h] = [newA, a, b, c, newE, e, f, gg];
  }
  return [a, b, c, d, e, f, gg, h];
}
function messageSchedule(g, first16, upTo) {
  const smallSigma0 = (x) => g.xor(g.xor(g.rotr(x, 7), g.rotr(x, 18)), g.shr(x, 3));
  const smallSigma1 = (x) => g.xor(g.xor(g.rotr(x, 17), g.rotr(x, 19)), g.shr(x, 10));
  const w = [...first16];
  for (let t = 16; t < upTo; t++) w.push(g.add(smallSigma1(w[t - 2]), w[t - 7], smallSigma0(w[t - 15]), w[t - 16]));
  return w;
}

/** Builds the graph of H7 (last digest word of sha256d(header)) as a function of the nonce word. */
function buildHeaderHash() {
  const g = new Graph();
  const midstate = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => g.input('u', `m${i}`));
  const tail = [0, 1, 2].map((i) => g.input('u', `t${i}`));
  const nonceWord = g.input('v', 'w3');
  // Second chunk of the 80-byte header: merkle tail, ntime, nbits, nonce, then padding and bit length 640.
  const chunk2 = [...tail, nonceWord, g.c(0x80000000), ...Array(10).fill(g.c(0)), g.c(640)];
  const state1 = sha256Rounds(g, midstate, messageSchedule(g, chunk2, 64), 64);
  const digest1 = state1.map((s, i) => g.add(midstate[i], s));
  // Second hash: one 32-byte message, so words 8..15 are constant padding (length 256 bits).
  const block2 = [...digest1, g.c(0x80000000), ...Array(6).fill(g.c(0)), g.c(256)];
  // 61 rounds suffice: after round 60 the `e` register already holds what the last round moves into H7.
  const state2 = sha256Rounds(g, IV.map((v) => g.c(v)), messageSchedule(g, block2, 61), 61);
  const h7 = g.add(state2[4], g.c(IV[7]));
  return { g, h7 };
}

// ---- Emission ----
function reachable(roots) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop();
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...n.args);
  }
  return seen;
}
const hex = (v) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

function scalarExpr(n, ref) {
  const [a, b] = n.args.map(ref);
  switch (n.op) {
    case 'xor': return `${a} ^ ${b}`;
    case 'and': return `${a} & ${b}`;
    case 'add': return `${a} + ${b}`;
    case 'sum': return n.args.map(ref).join(' + ');
    case 'shr': return `${a} >>> ${n.param}`;
    case 'rotr': return `rotr<u32>(${a}, ${n.param})`;
    default: throw new Error(`no scalar form for ${n.op}`);
  }
}
function simdExpr(n, ref) {
  const [a, b] = n.args.map(ref);
  switch (n.op) {
    case 'xor': return `v128.xor(${a}, ${b})`;
    case 'and': return `v128.and(${a}, ${b})`;
    case 'add': return `i32x4.add(${a}, ${b})`;
    case 'shr': return `i32x4.shr_u(${a}, ${n.param})`;
    // No rotate in wasm SIMD: two shifts and an or.
    case 'rotr': return `v128.or(i32x4.shr_u(${a}, ${n.param}), i32x4.shl(${a}, ${32 - n.param}))`;
    default: throw new Error(`no SIMD form for ${n.op}`);
  }
}

function emit() {
  const { g, h7 } = buildHeaderHash();
  const live = reachable([h7]);
  const loopNodes = g.nodes.filter((n) => live.has(n) && n.kind === 'v' && n.op !== 'input');
  // Per-job values the loop reads: each gets a slot (u32 for the scalar build, a splat for SIMD).
  const slotOf = new Map();
  const constSlotOf = new Map();
  for (const n of loopNodes) {
    for (const a of n.args) {
      if (a.kind === 'u' && !slotOf.has(a)) slotOf.set(a, slotOf.size);
      if (a.kind === 'c' && !constSlotOf.has(a.value)) constSlotOf.set(a.value, constSlotOf.size);
    }
  }
  const jobLive = reachable([...slotOf.keys()]);
  const jobNodes = g.nodes.filter((n) => jobLive.has(n) && n.kind === 'u' && n.op !== 'input');

  const uRef = (n) => (n.kind === 'c' ? hex(n.value) : n.op === 'input' ? n.name : `j${n.id}`);
  const precompute = jobNodes.map((n) => `  const j${n.id}: u32 = ${scalarExpr(n, uRef)};`);
  for (const [n, slot] of slotOf) precompute.push(`  store<u32>(JOB_WORDS, ${uRef(n)}, ${slot * 4});`);

  const scalarRef = (n) =>
    n.kind === 'c' ? hex(n.value) : n.kind === 'u' ? `load<u32>(JOB_WORDS, ${slotOf.get(n) * 4})` : n.op === 'input' ? n.name : `x${n.id}`;
  const simdRef = (n) =>
    n.kind === 'c'
      ? `v128.load(CONST_SPLATS, ${constSlotOf.get(n.value) * 16})`
      : n.kind === 'u' ? `v128.load(JOB_SPLATS, ${slotOf.get(n) * 16})` : n.op === 'input' ? n.name : `x${n.id}`;
  const scalarBody = loopNodes.map((n) => `  const x${n.id}: u32 = ${scalarExpr(n, scalarRef)};`);
  const simdBody = loopNodes.map((n) => `  const x${n.id}: v128 = ${simdExpr(n, simdRef)};`);
  // 8 lanes as two i32x4 groups a and b, each operation emitted for both side by side and the two results
  // stored to adjacent 16-byte slots: the shape V8's revectorizer (--experimental-wasm-revectorize) packs
  // into one 256-bit AVX2 operation per pair. Per-job words and constants are 32-bit load-splats, the same
  // load for both groups (V8 13 packs two v128.loads 16 bytes apart wrongly when b's comes first).
  const pairRef = (half) => (n) =>
    n.kind === 'c'
      ? `v128.load32_splat(CONST_WORDS, ${constSlotOf.get(n.value) * 4})`
      : n.kind === 'u' ? `v128.load32_splat(JOB_WORDS, ${slotOf.get(n) * 4})` : n.op === 'input' ? `${n.name}${'ab'[half]}` : `${'ab'[half]}${n.id}`;
  const pairBody = loopNodes.flatMap((n) => [0, 1].map((half) => `  const ${'ab'[half]}${n.id}: v128 = ${simdExpr(n, pairRef(half))};`));

  const constWords = [...constSlotOf.keys()].flatMap((v) => [v, v, v, v]).map(hex);
  const constList = [...constSlotOf.keys()].map(hex);
  const count = (op) => loopNodes.filter((n) => n.op === op).length;
  const stats = `adds ${count('add')}, xors ${count('xor')}, ands ${count('and')}, rotates ${count('rotr')}, shifts ${count('shr')}`;

  return `// GENERATED by assembly/generate.mjs — do not edit by hand; edit the generator and run it.
// Per-nonce work after precomputation: ${loopNodes.length} operations (${stats});
// ${jobNodes.length} per-job operations, ${slotOf.size} per-job words read by the loop.

export const IV_TABLE: usize = memory.data<u32>([
${chunk(IV.map(hex), 8)}
], 16);

export const JOB_SLOTS: i32 = ${slotOf.size};
const JOB_WORDS: usize = memory.data(${slotOf.size * 4}, 16);
const JOB_SPLATS: usize = memory.data(${slotOf.size * 16}, 16);
const CONST_SPLATS: usize = memory.data<u32>([
${chunk(constWords, 8)}
], 16);
// The simd8 build splats its constants from here (and its per-job words from JOB_WORDS).
const CONST_WORDS: usize = memory.data<u32>([
${chunk(constList, 8)}
], 16);

/** Everything in the double hash that does not depend on the nonce, from the midstate and the header tail. */
export function precomputeJob(m0: u32, m1: u32, m2: u32, m3: u32, m4: u32, m5: u32, m6: u32, m7: u32, t0: u32, t1: u32, t2: u32): void {
${precompute.join('\n')}
  if (KERNEL_LANES == 4) {
    for (let i = 0; i < JOB_SLOTS; i++) {
      v128.store(JOB_SPLATS + ((<usize>i) << 4), i32x4.splat(load<u32>(JOB_WORDS + ((<usize>i) << 2))));
    }
  }
}

/** H7 of sha256d(header) for one nonce; w3 is the nonce as the big-endian message word (bswap of the LE field). */
// @ts-ignore: decorator
@inline export function lastWordScalar(w3: u32): u32 {
${scalarBody.join('\n')}
  return x${h7.id};
}

/** H7 of sha256d(header) for 4 nonces at once, one per i32x4 lane. */
// @ts-ignore: decorator
@inline export function lastWordSimd(w3: v128): v128 {
${simdBody.join('\n')}
  return x${h7.id};
}

/** H7 for 8 nonces, lanes 0..3 from w3a and 4..7 from w3b; stored to out (lanes 0..3) and out + 16 (4..7). */
// @ts-ignore: decorator
@inline export function lastWordsSimd8(w3a: v128, w3b: v128, out: usize): void {
${pairBody.join('\n')}
  v128.store(out, a${h7.id});
  v128.store(out, b${h7.id}, 16);
}
`;
}
function chunk(items, per) {
  const lines = [];
  for (let i = 0; i < items.length; i += per) lines.push('  ' + items.slice(i, i + per).join(', ') + ',');
  return lines.join('\n');
}

// `--check` (used by the tests): exit 1 when the committed generated.ts differs from what this file emits.
const out = new URL('./generated.ts', import.meta.url);
const source = emit();
if (process.argv.includes('--check')) {
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (current !== source) {
    console.error('assembly/generated.ts is stale: run "node assembly/generate.mjs"');
    process.exit(1);
  }
  console.log('assembly/generated.ts is up to date');
} else {
  writeFileSync(out, source);
  console.log(`wrote ${out.pathname}`);
}
