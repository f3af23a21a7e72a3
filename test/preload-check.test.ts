// hosts/esp32/preload-check.ts (run by `npm run check:esp32` over every module the ESP32 build
// preloads) on small sources: what Moddable's preload forbids is reported with its line, what it
// allows is not.

import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkAliases, checkPreload, sdkPreloadFilter } from "../hosts/esp32/preload-check.js";
import { tempDir } from "./helpers/tools.js";

function check(source: string, checker = checkPreload): { line: number; message: string }[] {
  const dir = tempDir("preload-");
  try {
    const file = join(dir.path, "m.ts");
    writeFileSync(file, source);
    return checker([file]).map(({ line, message }) => ({ line, message }));
  } finally {
    dir.cleanup();
  }
}

test("reported: what preload forbids", () => {
  const problems = check(
    [
      "const NAME = /^[a-z]+$/;", // 1: a RegExp made at load
      "const cache = new Map<string, number>();", // 2
      "export function remember(k: string) { cache.set(k, 1); }", // 3: mutator on a preloaded Map
      "const buf = new Uint8Array(16);", // 4
      "export function put(i: number) { buf[i] = 1; }", // 5: indexed store
      "declare function fill(b: Uint8Array): void;",
      "export function give() { fill(buf.subarray(0, 4)); }", // 7: handed out as a view
      "export class Counter { static count = 0; static bump() { this.count++; } }", // 8: static write
      "export function reset() { Counter.count = 0; }", // 9: static write
      "const table = (() => { const t = new Uint32Array(4); for (let i = 0; i < 4; i++) t[i] = i; return t; })();",
      "export function poke() { table.fill(0); }", // 11: mutator
      "export const pattern = (() => new RegExp('a'))();", // 12: RegExp made in an IIFE at load
    ].join("\n"),
  );
  const lines = problems.map((p) => p.line).sort((a, b) => a - b);
  assert.deepEqual(lines, [1, 3, 5, 7, 8, 9, 11, 12], JSON.stringify(problems, null, 1));
  assert.match(problems.find((p) => p.line === 3)!.message, /cache\.set\(\)/);
  assert.match(problems.find((p) => p.line === 8)!.message, /static/);
});

test("allowed: what preload keeps writable or never writes", () => {
  const problems = check(
    [
      "let counter = 0;", // a module let: aliased in RAM
      "const list: number[] = [];", // a plain array: aliased
      "const state = { n: 0 };",
      "/** preload: read-only */",
      "const MAGIC = Uint8Array.of(1, 2);",
      "declare function send(b: Uint8Array): void;",
      "let scratch: Uint8Array | null = null;",
      "export function work(s: string) {",
      "  counter++; list.push(counter); state.n = counter; send(MAGIC);",
      "  const b = (scratch ??= new Uint8Array(8)); b[0] = 1;",
      "  return /^[a-z]+$/.test(s) && new Map().set(1, 2).size === 1;",
      "}",
      "export class Writer { pos = 0; static readonly SIZE = 4; move() { this.pos += Writer.SIZE; } }",
      "const CRC = (() => { const t = new Uint32Array(4); t[0] = 1; return t; })();",
      "export function crc(i: number) { return CRC[i & 3]; }",
    ].join("\n"),
  );
  assert.deepEqual(problems, []);
});

test("reported: the override mistake (assigning over a frozen built-in prototype's property)", () => {
  const problems = check(
    [
      "export class BadError extends Error {",
      "  constructor(m: string) { super(m); this.name = 'BadError'; }", // 2: Error.prototype.name
      "}",
      "export function relabel(e: Error) { e.message = 'x'; }", // 4: Error.prototype.message
      "export class GoodError extends Error {",
      "  override get name() { return 'GoodError'; }",
      "}",
      "export class Port { name = ''; constructor(n: string) { this.name = n; } }", // own field: fine
      "export function rename(p: Port) { p.name = 'x'; }",
    ].join("\n"),
  );
  assert.deepEqual(problems.map((p) => p.line), [2, 4], JSON.stringify(problems, null, 1));
  assert.match(problems[0]!.message, /override mistake/);
});

test("the SDK's preload filter: wildcards select JavaScript modules only, names select any", () => {
  const modules = [
    { name: "main", javascript: false },
    { name: "modules/ssh/wire", javascript: false },
    { name: "modules/ssh/kex/ecdh", javascript: false },
    { name: "lib/helper", javascript: true },
  ];
  const r = sdkPreloadFilter(["main", "modules/ssh/*", "lib/*", "modules/ssh/kex/ecdh", "gone"], modules);
  assert.deepEqual([...r.selected].sort(), ["lib/helper", "main", "modules/ssh/kex/ecdh"]);
  assert.deepEqual(r.unmatched, ["modules/ssh/*", "gone"]);
});

// What xsl warns about (each a RAM alias): check:moddable sees the real warnings, checkAliases finds
// the same patterns on the TypeScript so that npm test keeps them at zero.
test("aliases: module-level writable objects and bindings, as xsl warns about them", () => {
  const problems = check(
    [
      "let counter = 0;", // 1: no const
      "const LIST = [1, 2];", // 2: not frozen
      "export const LIMITS: { n: number } = { n: 1 };", // 3: not frozen (typed)
      "const PAIRS = Object.freeze([['a', '1'], Object.freeze(['b', '2'])]);", // 4: PAIRS[0] not frozen
      "const OK = Object.freeze({ a: 1, b: Object.freeze([1]), f() { return 1; } });",
      "const NAMES = Object.freeze({ x: 'y' } as const);",
      "/** Connection count, kept between calls. preload: RAM alias (state of the module) */",
      "let kept = 0;",
      "function entry(name: string, size: number) {", // 9: name captured by the method
      "  const bytes = size;",
      "  return Object.freeze({ name, describe() { return `${name} ${bytes}`; } });",
      "}",
      "function fine(label: string) {",
      "  const l = label;",
      "  return Object.freeze({ label, describe: () => l });",
      "}",
      "export const TABLE = Object.freeze({ a: entry('a', 1), b: fine('b') });",
      "export function later(v: number) { return [v]; }",
      "export class K { static readonly DEFAULTS = { a: 1 }; static readonly FROZEN = Object.freeze({ a: 1 }); }", // 19
      "export function use() { counter++; kept++; return LIST.length + LIMITS.n + PAIRS.length + OK.a + NAMES.x.length + later(1).length; }",
    ].join("\n"),
    checkAliases,
  ).sort((a, b) => a.line - b.line);
  assert.deepEqual(problems.map((p) => p.line), [1, 2, 3, 4, 9, 19], JSON.stringify(problems, null, 1));
  assert.match(problems[0]!.message, /counter: a module-level let.*no const/);
  assert.match(problems[3]!.message, /PAIRS\[0\].*not frozen/);
  assert.match(problems[4]!.message, /entry\(\): parameter name is captured/);
  assert.match(problems[5]!.message, /K\.DEFAULTS/);
});
