// `node --import tsx bench/compare.ts A.json B.json`: do two bench runs agree? For every row and
// every ratio (ours/peer, ours/limit) it prints the two medians and their difference, and marks a
// difference above AGREE_PCT. Exit status 0 either way (a report, not a test).

import { readFileSync } from "node:fs";
import { PEERS, type BenchResult, type Ratio } from "./report.js";

/** Two runs agree when every ratio's median differs by at most this much (% of the first). */
const AGREE_PCT = 10;

const [fa, fb] = process.argv.slice(2);
if (!fa || !fb) throw new Error("usage: bench/compare.ts A.json B.json");
const a = JSON.parse(readFileSync(fa, "utf8")) as BenchResult;
const b = JSON.parse(readFileSync(fb, "utf8")) as BenchResult;
const lines = [
  `Run A: ${a.bench.date} (${a.bench.mode}, commit ${a.bench.commit}); run B: ${b.bench.date} (${b.bench.mode}, commit ${b.bench.commit})`,
  "",
  "| row | ratio | A | B | B vs A |",
  "|---|---|--:|--:|--:|",
];
let worst = 0;
let disagree = 0;
const line = (row: string, what: string, x: Ratio | null | undefined, y: Ratio | null | undefined) => {
  if (!x || !y) return void lines.push(`| ${row} | ${what} | ${x ? x.median.toFixed(2) : "n/a"} | ${y ? y.median.toFixed(2) : "n/a"} | n/a |`);
  const d = ((y.median - x.median) / x.median) * 100;
  worst = Math.max(worst, Math.abs(d));
  if (Math.abs(d) > AGREE_PCT) disagree++;
  lines.push(`| ${row} | ${what} | ${x.median.toFixed(2)}x | ${y.median.toFixed(2)}x | ${d >= 0 ? "+" : ""}${d.toFixed(1)}%${Math.abs(d) > AGREE_PCT ? " DISAGREE" : ""} |`);
};
for (const [id, ra] of Object.entries(a.rows)) {
  const rb = b.rows[id];
  if (!rb) continue;
  for (const p of PEERS) if (p !== "ours") line(id, `ours/${p}`, ra.ratio[p], rb.ratio[p]);
  if (ra.ratio_limit !== undefined) line(id, "ours/limit", ra.ratio_limit, rb.ratio_limit);
}
lines.push("", `${disagree === 0 ? "agree" : `${disagree} ratio(s) differ by more than ${AGREE_PCT}%`}; largest difference ${worst.toFixed(1)}%`);
process.stdout.write(lines.join("\n") + "\n");
