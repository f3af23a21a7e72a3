// Moddable's "mdns" (modules/network/mdns/mdns.js, SDK 8.2.3) with the network taken out: the same
// probing sequence and callbacks, no packets. new MDNS({hostName}, callback): on the next turn
// callback(1, "") and "probe for NAME" on the log; then a probe every 250 ms; after three quiet
// probes the name is claimed: "probe claimed NAME", callback(1, NAME). A name in ESP32_SIM_MDNS_TAKEN
// conflicts: callback(2, NAME) may return a new name (string), give up (other truthy value: callback
// (-1) follows) or leave it to mdns.js (falsy: NAME-2, NAME-3, ...). add(service) before the claim
// throws "not ready"; without a hostName "no hostName". Announcements and goodbyes go to the test as
// {type: "mdns"} events; {cmd: "mdns"} answers what is announced now.

import { onCommand, report, settings, trace } from "./board.js";
import Timer from "./timer.js";

type Service = { name: string; protocol: string; port: number; txt?: Record<string, string> };

const live = new Set<MDNS>();

onCommand("mdns", () =>
  [...live].map((m) => ({ hostName: m.hostName ?? null, claimed: !m.probing && m.hostName !== undefined, services: m.services.map((s) => ({ name: s.name, protocol: s.protocol, port: s.port, txt: s.txt ?? {} })) })),
);

export default class MDNS {
  static readonly hostName = 1;
  static readonly retry = 2;
  static readonly error = -1;
  static readonly IP = "224.0.0.251";
  static readonly PORT = 5353;

  hostName: string | undefined;
  probing = 0;
  readonly services: Service[] = [];
  private probeTimer: Timer | undefined;
  private probeAttempt = 1;
  private closed = false;
  private readonly client: (message: number, value?: string) => unknown;

  constructor(dictionary: { hostName?: string } = {}, callback?: (message: number, value?: string) => unknown) {
    this.client = callback ?? (() => undefined);
    live.add(this);
    if (dictionary.hostName) {
      this.hostName = dictionary.hostName;
      this.probing = 1;
      Timer.set(() => this.probe(), 0);
    }
  }

  private probe(): void {
    if (this.closed) return;
    this.probing = 1;
    this.probeAttempt = 1;
    trace(`probe for ${this.hostName}\n`);
    this.client(MDNS.hostName, "");
    this.probeTimer = Timer.repeat((id) => {
      if (this.probing > 1 && settings.mdnsTaken.includes(this.hostName!)) this.probing = -1; // a defending answer arrived
      if (this.probing < 0) {
        const answer = this.client(MDNS.retry, this.hostName);
        if (answer) {
          if (typeof answer === "string") {
            this.hostName = answer;
            this.probeAttempt = 1;
          } else {
            Timer.clear(id);
            this.probeTimer = undefined;
            this.hostName = undefined;
            this.client(MDNS.error);
            return;
          }
        } else {
          this.probeAttempt += 1;
          const base = this.probeAttempt > 2 ? this.hostName!.split("-").slice(0, -1).join("-") : this.hostName!;
          this.hostName = `${base}-${this.probeAttempt}`;
        }
        this.probing = 1;
        trace(`re-probe for ${this.hostName}\n`);
      }
      if (this.probing === 4) {
        trace(`probe claimed ${this.hostName}\n`);
        Timer.clear(id);
        this.probeTimer = undefined;
        this.probing = 0;
        report({ type: "mdns", event: "claimed", hostName: this.hostName });
        this.client(MDNS.hostName, this.hostName);
        return;
      }
      trace(`probe ${this.probing}\n`);
      this.probing += 1;
    }, settings.mdnsProbeMs);
  }

  add(service: Service): void {
    if (!this.hostName) throw new Error("no hostName");
    if (this.probing) throw new Error("not ready");
    service.txt ??= {};
    this.services.push(service);
    report({ type: "mdns", event: "add", hostName: this.hostName, service: { name: service.name, protocol: service.protocol, port: service.port, txt: service.txt } });
  }

  remove(service: Service | string): void {
    if (typeof service === "string") return; // a monitor (browsing is not simulated)
    const i = this.services.indexOf(service);
    if (i < 0) return;
    this.services.splice(i, 1);
    report({ type: "mdns", event: "goodbye", hostName: this.hostName, service: { name: service.name, protocol: service.protocol, port: service.port } });
  }

  close(): void {
    if (this.closed) return;
    while (this.services.length) this.remove(this.services[0]);
    Timer.clear(this.probeTimer);
    this.closed = true;
    live.delete(this);
    report({ type: "mdns", event: "close", hostName: this.hostName });
  }
}
