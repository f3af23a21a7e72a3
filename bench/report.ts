// The bench's result format and its markdown table (bench/run.ts writes it, bench/compare.ts reads
// two of them).

export const PEERS = ["ours", "openssh", "dropbear", "tinysshd", "ssh2"] as const;
export type PeerName = (typeof PEERS)[number];
export type LimitCipher = "chacha20-poly1305" | "aes-128-gcm";

export interface Ratio {
  /** The ratio the tables, the goals and compareRuns read (ratioValue): since 2026-12-04 the
   * trimmed geometric mean of every visit's ratio (RATIO_TRIM), before that `median`. */
  center?: number;
  /** Median of every visit's ratio (before 2026-12-03 night: of the rounds' ratios, each round's
   * figures the mean of its visits). */
  median: number;
  /** Range of the rounds' own summaries (since 2026-12-04 their geometric means, before their medians). */
  min: number;
  max: number;
  rounds: number;
  /** Visits whose ratio the summary is of (absent before 2026-12-03 night). */
  visits?: number;
}

/** The fraction of visit ratios dropped at each end before the geometric mean (10%: 3 of the full
 * run's 36 at each end). Resampling the rounds of three full runs (2026-12-03, 5610095 to 8475751)
 * put this estimate's standard error at 2.2-2.3% on average over the ratios against peers (up to
 * 4.6%), against 2.5% (up to 6.1%) for the median of the same visits: the median uses about two
 * thirds of the data's information, while trimming still drops the odd disturbed sample. */
export const RATIO_TRIM = 0.1;

/** The ratio a table, a goal or a comparison reads: `center` where the run has it, else `median`. */
export function ratioValue(r: Ratio): number {
  return r.center ?? r.median;
}

/** Geometric mean of positive numbers after dropping floor(trim x n) of them at each end (null when
 * empty). Ratios are averaged on a log scale, so 2x and 0.5x are equally far from 1x. */
export function trimmedGeoMean(xs: number[], trim: number): number | null {
  if (xs.length === 0) return null;
  const logs = xs.map(Math.log).sort((a, b) => a - b);
  const k = Math.floor(logs.length * trim);
  const kept = logs.slice(k, logs.length - k);
  return Math.exp(kept.reduce((a, b) => a + b, 0) / kept.length);
}

/** Summarises the visit ratios of a row and peer, given per round: the trimmed geometric mean of
 * them all (`center`), their median, and the range of the rounds' geometric means. */
export function summariseRatios(perRound: number[][], round: (x: number) => number): Ratio | null {
  const rounds = perRound.filter((rs) => rs.length > 0);
  const all = rounds.flat();
  if (!all.length) return null;
  const means = rounds.map((rs) => trimmedGeoMean(rs, 0)!);
  return { center: round(trimmedGeoMean(all, RATIO_TRIM)!), median: round(median(all)!), min: round(Math.min(...means)), max: round(Math.max(...means)), rounds: rounds.length, visits: all.length };
}

export interface RowResult {
  label: string;
  higher: boolean;
  samples: Partial<Record<PeerName, (number | null)[]>>;
  median: Partial<Record<PeerName, number | null>>;
  spread_pct: Partial<Record<PeerName, number | null>>;
  ratio: Partial<Record<PeerName, Ratio | null>>;
  limit?: { cipher: LimitCipher; samples: (number | null)[]; median: number | null };
  ratio_limit?: Ratio | null;
}

export interface BenchResult {
  bench: {
    mode: string;
    date: string;
    commit: string | null;
    rounds: number;
    file_mib: number;
    wide_spread_pct: number;
    seconds: Record<string, number>;
    [k: string]: unknown;
  };
  rows: Record<string, RowResult>;
  /** Per row and server: median busy % of the server's core and the client's core during the
   * row's transfers (handshakes: its logins), and the host's steal % (absent before 2026-12-03 evening). */
  core_busy_pct?: Record<string, Partial<Record<PeerName, { server: number | null; client: number | null; steal: number | null }>>>;
  memory: Partial<Record<PeerName, Record<string, number | null>>>;
  /** Raw wall times (ms) of the transfer rows per server and round (absent before 2026-12-03). */
  transfer_wall_ms?: Record<string, Partial<Record<PeerName, (number | null)[]>>>;
  /** Every visit's figure per row, server and round (transfers in MB/s), and the host's steal % over
   * each transfer visit (absent before 2026-12-03 night). */
  visit_samples?: Record<string, Partial<Record<PeerName, (number | null)[][]>>>;
  visit_steal_pct?: Record<string, Partial<Record<PeerName, (number | null)[][]>>>;
  /** Per row and server (or "limit"): samples measured again for the host's steal, samples kept
   * above the threshold after the last try, and samples in all (absent before 2026-12-03 night). */
  steal_retries?: Record<string, Record<string, { retried: number; kept_over: number; samples: number }>>;
  alloc: Record<string, unknown>;
  errors: Partial<Record<PeerName, Record<string, string>>>;
}

const fmt = (v: unknown, digits = 1) => (typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: v >= 100 ? 0 : digits }) : "n/a");

/** A core this busy (%) during a transfer is the side that bounds it (shown in bold). */
export const BOUND_PCT = 90;

/** The markdown table of a result (also used by bench/compare.ts). */
export function report(r: BenchResult): string {
  const peers = PEERS.filter((p) => p !== "ours");
  const b = r.bench;
  const lines = [
    `## esp-ssh-console bench (${b.mode}: ${b.rounds} interleaved rounds per row${typeof b.visits_per_round === "number" && b.visits_per_round > 1 ? ` of ${b.visits_per_round} visits (there and back)` : ""}, ${b.file_mib} MiB files${b.commit ? `, commit ${b.commit}` : ""}${typeof b.idle_polling === "string" ? `; idle polling: ${b.idle_polling}` : ""})`,
    "",
    `Cells: median of the rounds [spread = (max - min) / median]; a spread over ${b.wide_spread_pct}% is marked WIDE. Ratios: ours/peer of every visit (the two in the same pass), ${ratioMethod(r)}. limit: \`openssl speed -evp\` on one core.`,
    "",
    `| measure | limit | ours | ${peers.join(" | ")} | ours/openssh | ours/ssh2 | ours/limit |`,
    `|---|--:|--:|${peers.map(() => "--:").join("|")}|--:|--:|--:|`,
  ];
  const cell = (row: RowResult, p: PeerName) => {
    const m = row.median[p];
    if (typeof m !== "number") return "n/a";
    const s = row.spread_pct[p];
    return `${fmt(m, 2)} [${fmt(s, 0)}%${typeof s === "number" && s > b.wide_spread_pct ? " WIDE" : ""}]`;
  };
  const ratio = (x: Ratio | null | undefined) => (x ? `${ratioValue(x).toFixed(2)}x (${x.min.toFixed(2)}-${x.max.toFixed(2)})` : "n/a");
  for (const row of Object.values(r.rows)) {
    lines.push(`| ${row.label} | ${row.limit ? fmt(row.limit.median) : ""} | ${cell(row, "ours")} | ${peers.map((p) => cell(row, p)).join(" | ")} | ${ratio(row.ratio.openssh)} | ${ratio(row.ratio.ssh2)} | ${row.limit ? ratio(row.ratio_limit) : ""} |`);
  }
  if (Object.keys(r.memory).length) {
    const m = (p: PeerName) => {
      const x = r.memory[p];
      if (!x) return "n/a";
      return x.heap_kb_per_session !== null && x.heap_kb_per_session !== undefined ? `${fmt(x.heap_kb_per_session)} KB heap` : `${fmt(x.rss_kb_per_session)} KB RSS`;
    };
    lines.push(`| memory per idle session (once, not in rounds) | | ${m("ours")} | ${peers.map(m).join(" | ")} | | ${r.memory.ours?.heap_kb_per_session && r.memory.ssh2?.heap_kb_per_session ? `${(r.memory.ours.heap_kb_per_session / r.memory.ssh2.heap_kb_per_session).toFixed(2)}x` : "n/a"} | |`);
  }
  if (r.core_busy_pct && Object.keys(r.core_busy_pct).length) {
    lines.push("", `What bounds each row: busy % of the server's core / the client's core during its transfers (handshakes: its logins), median of the rounds. A side near ${BOUND_PCT}% or above is the one the row measures.`, "");
    lines.push(`| row | ${PEERS.join(" | ")} |`, `|---|${PEERS.map(() => "--:").join("|")}|`);
    for (const [id, per] of Object.entries(r.core_busy_pct)) {
      const c = (p: PeerName) => {
        const x = per[p];
        if (!x || x.server === null || x.client === null) return "n/a";
        const mark = (v: number) => (v >= BOUND_PCT ? `**${v}**` : `${v}`);
        return `${mark(x.server)} / ${mark(x.client)}`;
      };
      lines.push(`| ${r.rows[id]?.label ?? id} | ${PEERS.map(c).join(" | ")} |`);
    }
    const steal = hostSteal(r);
    if (steal !== null) lines.push("", `Host steal during the transfers (median): ${steal.toFixed(1)}%${steal > BUSY_HOST_STEAL_PCT ? ` - above ${BUSY_HOST_STEAL_PCT}%: the host was busy; do not compare this run, run it again` : ""}.`);
  }
  const retries = stealRetries(r);
  if (retries) lines.push("", retries);
  lines.push("", "Allocation in our packet path (in-process, bytes per MiB of channel data; V8 heap + ArrayBuffer backing stores):", "");
  lines.push("| provider | upload (console -> null UART) | echo (`cat`: in + out) | in-process MB/s upload / echo |", "|---|--:|--:|--:|");
  for (const p of ["node", "noble"]) {
    const u = r.alloc[`${p}_upload`] as Record<string, number> | undefined;
    const e = r.alloc[`${p}_echo`] as Record<string, number> | undefined;
    if (!u && !e) continue;
    const c = (x?: Record<string, number>) => (x && typeof x.bytes_per_mib === "number" ? `${fmt(x.bytes_per_mib)} (heap ${fmt(x.heap_bytes_per_mib)} + ext ${fmt(x.external_bytes_per_mib)})` : "n/a");
    lines.push(`| ${p} | ${c(u)} | ${c(e)} | ${fmt(u?.inprocess_mbps)} / ${fmt(e?.inprocess_mbps)} |`);
  }
  const errs = PEERS.flatMap((p) => Object.entries(r.errors[p] ?? {}).map(([k, v]) => `- ${p} ${k}: ${v}`));
  if (errs.length) lines.push("", "Not measured:", ...errs);
  const g = (text: string, x: Ratio | null | undefined, ok: (m: number) => boolean) => `- ${text}: ${x ? `${ok(ratioValue(x)) ? "met" : "not met"} (${ratio(x)})` : "not measured"}`;
  lines.push("", `Goals (reported, not asserted; on the ratios above: ${ratioMethod(r)}):`);
  for (const row of Object.entries(r.rows)) {
    const [id, x] = row;
    if (id === "latency_ms") lines.push(g("latency <= ssh2's", x.ratio.ssh2, (m) => m <= 1));
    else if (id === "handshakes_per_s") lines.push(g("handshakes/s >= ssh2's", x.ratio.ssh2, (m) => m >= 1));
    else if (id === "cpu_s_per_gib_server") lines.push(g("server CPU s/GiB <= ssh2's", x.ratio.ssh2, (m) => m <= 1));
    else if (id.endsWith("_mbps")) {
      lines.push(g(`${id} >= 1.0x ssh2`, x.ratio.ssh2, (m) => m >= 1), g(`${id} >= 1.25x OpenSSH`, x.ratio.openssh, (m) => m >= 1.25));
      if (id === "upload_mbps") lines.push(g("upload_mbps >= 40% of the cipher limit", x.ratio_limit, (m) => m >= 0.4));
    }
  }
  const e = r.alloc.node_echo as Record<string, number> | undefined;
  if (e && typeof e.bytes_per_mib === "number") {
    lines.push(`- echo path in-process >= 300 MB/s: ${e.inprocess_mbps >= 300 ? "met" : "not met"} (${fmt(e.inprocess_mbps)} MB/s)`);
    lines.push(`- echo path <= 64 KiB allocated per MiB: ${e.bytes_per_mib <= 65536 ? "met" : "not met"} (${fmt(e.bytes_per_mib)} B/MiB)`);
  }
  return lines.join("\n");
}

/** A run whose median steal (the host running others on our cores) is above this is flagged by
 * compareRuns. Quiet runs here had 0.5-1%; a run at 2.6% (2026-12-03, 16:22 UTC) disagreed with the
 * quiet run before it on 14 of 48 ratios, dropbear's and tinysshd's by up to 54%. */
export const BUSY_HOST_STEAL_PCT = 2;

/** Median steal % over every row and server of a run's busy table (null before the table existed). */
export function hostSteal(r: BenchResult): number | null {
  const xs = Object.values(r.core_busy_pct ?? {}).flatMap((per) => Object.values(per).map((x) => x?.steal)).filter((x): x is number => typeof x === "number");
  return median(xs);
}

/** One line on the samples the run measured again because the host stole more than its threshold
 * of the cores' time during them (null before the run had the rule). */
export function stealRetries(r: BenchResult): string | null {
  if (!r.steal_retries) return null;
  const per: Record<string, { retried: number; kept_over: number; samples: number }> = {};
  for (const byWho of Object.values(r.steal_retries))
    for (const [who, c] of Object.entries(byWho)) {
      const x = (per[who] ??= { retried: 0, kept_over: 0, samples: 0 });
      x.retried += c.retried;
      x.kept_over += c.kept_over;
      x.samples += c.samples;
    }
  const all = Object.values(per).reduce((a, c) => ({ retried: a.retried + c.retried, kept_over: a.kept_over + c.kept_over, samples: a.samples + c.samples }), { retried: 0, kept_over: 0, samples: 0 });
  const who = Object.entries(per).map(([k, c]) => `${k} ${c.retried}/${c.samples}`).join(", ");
  const pct = typeof r.bench.steal_retry_pct === "number" ? `${r.bench.steal_retry_pct}%` : "the threshold";
  return `Measured again for host steal above ${pct}: ${all.retried} tries over ${all.samples} samples (${who}); ${all.kept_over} samples kept above it after the last try.`;
}

/** How a run summarised its ratios, in words. */
export function ratioMethod(r: BenchResult): string {
  const any = Object.values(r.rows).flatMap((row) => [...Object.values(row.ratio), row.ratio_limit]).find((x) => x);
  if (any?.center !== undefined) return `geometric mean of all visits' ratios with ${RATIO_TRIM * 100}% trimmed at each end (min-max of the rounds' geometric means)`;
  if (any?.visits !== undefined) return "median over all visits (min-max of the rounds' medians)";
  return "median of the rounds' ratios (min-max)";
}

/** Median of a list (null when empty); bench/run.ts summarises its rounds with it too. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Two runs agree when every ratio (ratioValue) differs by at most this much (% of the first). */
export const AGREE_PCT = 10;

/** Both runs' ratios (ratioValue, with the rounds' range) side by side (ours/peer and ours/limit of every row), each marked when it
 * differs by more than AGREE_PCT, and a last line "agreement with previous run: N ratios differ by >10%". */
export function compareRuns(a: BenchResult, b: BenchResult): string {
  const lines = [
    `Run A (previous): ${a.bench.date} (${a.bench.mode}, commit ${a.bench.commit}); run B: ${b.bench.date} (${b.bench.mode}, commit ${b.bench.commit})`,
    "",
    `A: ${ratioMethod(a)}; B: ${ratioMethod(b)}`,
    "",
    `| row | ratio | A (min-max of rounds) | B (min-max of rounds) | B vs A |`,
    "|---|---|--:|--:|--:|",
  ];
  let worst = 0;
  let disagree = 0;
  let compared = 0;
  const fmt = (r: Ratio) => `${ratioValue(r).toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})`;
  const line = (row: string, what: string, x: Ratio | null | undefined, y: Ratio | null | undefined) => {
    if (!x || !y) return void lines.push(`| ${row} | ${what} | ${x ? fmt(x) : "n/a"} | ${y ? fmt(y) : "n/a"} | n/a |`);
    const d = ((ratioValue(y) - ratioValue(x)) / ratioValue(x)) * 100;
    compared++;
    worst = Math.max(worst, Math.abs(d));
    if (Math.abs(d) > AGREE_PCT) disagree++;
    lines.push(`| ${row} | ${what} | ${fmt(x)} | ${fmt(y)} | ${d >= 0 ? "+" : ""}${d.toFixed(1)}%${Math.abs(d) > AGREE_PCT ? " DISAGREE" : ""} |`);
  };
  for (const [id, ra] of Object.entries(a.rows)) {
    const rb = b.rows[id];
    if (!rb) continue;
    for (const p of PEERS) if (p !== "ours") line(id, `ours/${p}`, ra.ratio[p], rb.ratio[p]);
    if (ra.ratio_limit !== undefined) line(id, "ours/limit", ra.ratio_limit, rb.ratio_limit);
  }
  const sa = hostSteal(a);
  const sb = hostSteal(b);
  if (sa !== null && sb !== null) {
    lines.push("", `host steal during the transfers (median over rows and servers): A ${sa.toFixed(1)}%, B ${sb.toFixed(1)}%${Math.max(sa, sb) > BUSY_HOST_STEAL_PCT ? ` - above ${BUSY_HOST_STEAL_PCT}%: the host was busy, the round-trip-bound peers (dropbear, tinysshd) slow down most and the runs are not comparable` : ""}`);
  }
  for (const [k, x] of [["A", a], ["B", b]] as const) {
    const t = stealRetries(x);
    if (t) lines.push("", `${k}: ${t}`);
  }
  lines.push("", `agreement with previous run: ${disagree} ratios differ by >${AGREE_PCT}% (of ${compared} compared; largest difference ${worst.toFixed(1)}%)`);
  return lines.join("\n");
}
