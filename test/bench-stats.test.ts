// The bench's statistics (bench/report.ts): how a row's visit ratios become the ratio the README's
// tables, the goals and `--compare` read. No timing here: fixed numbers in, exact numbers out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RATIO_TRIM, compareRuns, ratioValue, summariseRatios, trimmedGeoMean, type BenchResult, type Ratio } from "../bench/report.js";

const r3 = (x: number) => Math.round(x * 1000) / 1000;

test("trimmedGeoMean: a geometric mean, with floor(trim x n) dropped at each end", () => {
  assert.equal(trimmedGeoMean([], 0.1), null);
  assert.equal(r3(trimmedGeoMean([2, 0.5], 0)!), 1);
  assert.equal(r3(trimmedGeoMean([1, 4], 0)!), 2);
  // 10 values, 10%: the lowest and the highest go, whatever they are.
  const xs = [1, 1, 1, 1, 1, 1, 1, 1, 1e-9, 1e3];
  assert.equal(trimmedGeoMean(xs, 0.1), 1);
  assert.ok(Math.abs(Math.log(trimmedGeoMean(xs, 0)!)) > 0, "untrimmed, the outliers count");
  // 9 values at 10%: floor(0.9) = 0, nothing is dropped.
  assert.equal(r3(trimmedGeoMean([1, 1, 1, 1, 1, 1, 1, 1, 512], 0.1)!), 2);
});

test("summariseRatios: center over every visit, median, range of the rounds' geometric means", () => {
  const s = summariseRatios([[1, 4], [], [2, 2, 2, 2]], r3)!;
  assert.equal(s.rounds, 2, "a round with no visit does not count");
  assert.equal(s.visits, 6);
  assert.equal(s.median, 2);
  assert.equal(s.min, 2);
  assert.equal(s.max, 2);
  assert.equal(s.center, r3(trimmedGeoMean([1, 4, 2, 2, 2, 2], RATIO_TRIM)!));
  assert.equal(ratioValue(s), s.center);
  assert.equal(summariseRatios([[], []], r3), null);
  // The full run's 36 visits lose 3 at each end: one wild visit does not move the ratio.
  const steady = Array.from({ length: 9 }, () => [1.2, 1.2, 1.2, 1.2]);
  steady[4][2] = 12;
  assert.equal(summariseRatios(steady, r3)!.center, 1.2);
  // A run from before `center` existed is read by its median.
  assert.equal(ratioValue({ median: 1.5, min: 1, max: 2, rounds: 7 }), 1.5);
});

function run(ratio: Ratio): BenchResult {
  return {
    bench: { mode: "full", date: "2026-12-04T00:00:00.000Z", commit: "x", rounds: 9, file_mib: 128, wide_spread_pct: 15, seconds: {} },
    rows: { upload_mbps: { label: "upload", higher: true, samples: {}, median: {}, spread_pct: {}, ratio: { ssh2: ratio } } },
    memory: {},
    alloc: {},
    errors: {},
  };
}

test("compareRuns counts a ratio more than 10% apart, and reads each run's own summary", () => {
  const a = run({ center: 1.0, median: 1.5, min: 0.9, max: 1.1, rounds: 9, visits: 36 });
  const near = run({ center: 1.099, median: 0.5, min: 1, max: 1.2, rounds: 9, visits: 36 });
  const far = run({ center: 1.101, median: 1.0, min: 1, max: 1.2, rounds: 9, visits: 36 });
  assert.match(compareRuns(a, near), /agreement with previous run: 0 ratios differ by >10% \(of 1 compared; largest difference 9\.9%\)/);
  assert.match(compareRuns(a, far), /agreement with previous run: 1 ratios differ by >10% \(of 1 compared; largest difference 10\.1%\)/);
  assert.match(compareRuns(a, far), /DISAGREE/);
  // An old run (median only) against a new one: each by its own summary.
  const old = run({ median: 1.0, min: 0.9, max: 1.1, rounds: 7 });
  assert.match(compareRuns(old, near), /0 ratios differ/);
  assert.match(compareRuns(old, near), /A: median of the rounds' ratios/);
});
