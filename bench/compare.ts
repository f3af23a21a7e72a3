// `node --import tsx bench/compare.ts A.json B.json`: do two bench runs agree? For every row and
// every ratio (ours/peer, ours/limit) it prints the two medians and their difference, and marks a
// difference above AGREE_PCT (bench/report.ts). Exit status 0 either way (a report, not a test).
// `npm run bench -- --compare A.json` prints the same after its own run.

import { readFileSync } from "node:fs";
import { compareRuns, type BenchResult } from "./report.js";

const [fa, fb] = process.argv.slice(2);
if (!fa || !fb) throw new Error("usage: bench/compare.ts A.json B.json");
const a = JSON.parse(readFileSync(fa, "utf8")) as BenchResult;
const b = JSON.parse(readFileSync(fb, "utf8")) as BenchResult;
process.stdout.write(compareRuns(a, b) + "\n");
