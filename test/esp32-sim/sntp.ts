// Moddable's "sntp" (modules/network/sntp/sntp.js, SDK 8.2.3) with the network taken out: new
// SNTP({host}, callback) resolves `host` and sends a request, again every 5 s; after 5 tries
// callback(SNTP.error, "no response from SNTP server"), whose answer, a host name, starts over with
// that host (anything else closes). An answer: the object closes, then callback(SNTP.time, seconds).
// The test plays the servers: each request is a {type: "sntp-request", host} event;
// {cmd: "sntp", action: "answer", seconds} answers every pending request (seconds since 1970,
// default the real time), "unresolvable" fails them as `Net.resolve` does for an unknown name
// ("cannot resolve HOST"); "status" answers the hosts waiting.

import { onCommand, post, realTimeMs, report } from "./board.js";

/** sntp.js: a retry every 5 s, 5 tries. */
const RETRY_MS = 5000;
const TRIES = 5;

const pending = new Set<SNTP>();

onCommand("sntp", (m) => {
  const all = [...pending];
  switch (m.action) {
    case "answer": {
      const seconds = m.seconds === undefined ? Math.floor(realTimeMs() / 1000) : Number(m.seconds);
      for (const s of all) s.answer(seconds);
      break;
    }
    case "unresolvable":
      for (const s of all) s.failed(`cannot resolve ${s.host}`);
      break;
    case "status":
      break;
    default:
      throw new Error(`sntp: unknown action ${String(m.action)}`);
  }
  return { pending: all.map((s) => s.host) };
});

type Callback = (message: number, value?: unknown) => unknown;

export default class SNTP {
  static readonly time = 1;
  static readonly retry = 2;
  static readonly error = -1;

  host = "";
  #callback: Callback;
  #timer: NodeJS.Timeout | null = null;
  #tries = 0;
  #closed = false;

  constructor(dictionary: { host: string }, callback: Callback) {
    this.#callback = callback;
    this.#start(String(dictionary.host));
  }

  #start(host: string): void {
    this.host = host;
    this.#tries = TRIES;
    pending.add(this);
    report({ type: "sntp-request", host });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      if (!--this.#tries) return post(() => this.failed("no response from SNTP server"));
      post(() => this.#callback(SNTP.retry));
      this.#arm();
    }, RETRY_MS);
  }

  /** A server's answer (the test's). */
  answer(seconds: number): void {
    if (this.#closed) return;
    this.close();
    post(() => this.#callback(SNTP.time, seconds));
  }

  failed(message: string): void {
    if (this.#closed) return;
    pending.delete(this);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    post(() => {
      if (this.#closed) return;
      const next = this.#callback(SNTP.error, message);
      if (typeof next === "string" && next) this.#start(next);
      else this.close();
    });
  }

  close(): void {
    this.#closed = true;
    pending.delete(this);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
