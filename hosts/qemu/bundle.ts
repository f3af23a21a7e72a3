// Bundles a TypeScript entry and everything it imports into one classic script that Moddable XS 13.3
// evaluates (xsrun on Linux, the QEMU firmware): esbuild, IIFE, ES2022, no node builtins.
//
//   node --import tsx hosts/qemu/bundle.ts ENTRY.ts OUT.js
//
// XS specifics (shared/FACTS.md, "XS engine outside the SDK"):
// - class fields are lowered to constructor assignments (`supported: {"class-field": false}`):
//   XS 13.3 throws when a class with instance fields is instantiated inside its own static
//   initializer, which @noble/curves does;
// - the bundle is checked for APIs XS 13.3 lacks (Intl, Promise.withResolvers, iterator helpers,
//   the ES2025 Set methods) and for Uint8Array.from, which XS runs slowly with a slot per element:
//   xsGaps() lists what it finds, and bundleForXs refuses the missing APIs.

import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface XsGap {
  /** What was found, e.g. "Promise.withResolvers". */
  api: string;
  /** True when XS 13.3 has no such API (the bundle would fail there); false for a slow path. */
  missing: boolean;
  count: number;
}

const GAP_PATTERNS: { api: string; missing: boolean; re: RegExp }[] = [
  { api: "Intl", missing: true, re: /\bIntl\s*\./g },
  { api: "Promise.withResolvers", missing: true, re: /\bPromise\s*\.\s*withResolvers\b/g },
  { api: "Iterator helpers", missing: true, re: /\bIterator\s*\.\s*from\b|\.(?:values|keys|entries)\(\)\s*\.\s*(?:map|filter|take|drop|flatMap|reduce|toArray|forEach|some|every|find)\(/g },
  { api: "Set methods", missing: true, re: /\.\s*(?:union|intersection|difference|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\s*\(/g },
  { api: "Uint8Array.from", missing: false, re: /\bUint8Array\s*\.\s*from\s*\(/g },
];

/** APIs XS 13.3 lacks (missing) or runs badly, found in bundled code. */
export function xsGaps(code: string): XsGap[] {
  const found: XsGap[] = [];
  for (const p of GAP_PATTERNS) {
    const count = code.match(p.re)?.length ?? 0;
    if (count > 0) found.push({ api: p.api, missing: p.missing, count });
  }
  return found;
}

export interface BundleResult {
  outfile: string;
  bytes: number;
  gaps: XsGap[];
}

/** Bundles `entry` into `outfile` for XS. Throws when esbuild fails (a node builtin cannot be
 * resolved on the neutral platform) or the bundle uses an API XS 13.3 lacks. */
export async function bundleForXs(entry: string, outfile: string, opts: { minify?: boolean; define?: Record<string, string> } = {}): Promise<BundleResult> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    supported: { "class-field": false },
    minifySyntax: opts.minify ?? false,
    minifyWhitespace: opts.minify ?? false,
    legalComments: "none",
    define: opts.define,
    charset: "utf8",
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  const gaps = xsGaps(code);
  const missing = gaps.filter((g) => g.missing);
  if (missing.length > 0) {
    throw new Error(`${entry}: the bundle uses what XS 13.3 lacks: ${missing.map((g) => `${g.api} (${g.count}x)`).join(", ")}`);
  }
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, code);
  return { outfile, bytes: Buffer.byteLength(code), gaps };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, out] = process.argv.slice(2);
  if (!entry || !out) {
    console.error("usage: bundle.ts ENTRY.ts OUT.js");
    process.exit(2);
  }
  bundleForXs(entry, out).then(
    (r) => console.log(`${r.outfile}: ${r.bytes} bytes${r.gaps.map((g) => `; ${g.api} x${g.count}`).join("")}`),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
