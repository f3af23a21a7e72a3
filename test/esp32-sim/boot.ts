// The simulated ESP32 image, booting: what Moddable's ESP32 runtime does before and around the
// program's `main`, on node with the simulations of this directory standing in for the SDK's modules
// (hooks.ts maps their names; run as node --import tsx --import ./test/esp32-sim/register.ts
// test/esp32-sim/boot.ts, see harness.ts).
//
// 1. The globals Moddable's runtime gives: trace(), native(); then the built-ins frozen, as the XS
//    linker leaves them when anything is preloaded (freeze.ts), before any of the image is loaded.
// 2. setup/network (the SDK's build/devices/esp32/setup/network.js, preloaded by manifest_net.json):
//    joins Wi-Fi with config.ssid/config.password through embedded:network/interface/wifi, logs
//    "Wi-Fi connected to ..." and "IP address ...", closes its WiFi object and only then calls the
//    program (hosts/esp32/manifest_app.json sets config.sntp to "", so setup/network's own SNTP
//    wait is skipped: the clock stays at 1970 + uptime until network.ts's SNTP answers). Without an
//    SSID it logs "No Wi-Fi SSID" and goes straight on.
// 3. The manifest's "main" module (hosts/esp32/main.ts): its default export, called once.

import { installWallClock, trace } from "./board.js";
import { freezeIntrinsics } from "./freeze.js";
import { loadNatives, native } from "./natives.js";

const g = globalThis as unknown as { trace: typeof trace; native: typeof native };
g.trace = trace;
g.native = native;

await loadNatives();
// The board's clock starts at 1970 (Date is frozen next, so its now() is replaced first).
installWallClock();
// Before mc/config and the host: from here on an override-mistake write throws, as on the board.
freezeIntrinsics();

interface WiFiLike {
  readonly connection: number;
  readonly address: string | undefined;
  readonly SSID: string | undefined;
  connect(options: Record<string, unknown>): void;
  close(): void;
}
type WiFiClass = new (options: { onChanged(this: WiFiLike): void }) => WiFiLike;

const { default: config } = (await import("mc/config" as string)) as { default: Record<string, unknown> };
const { default: WiFi } = (await import("embedded:network/interface/wifi" as string)) as { default: WiFiClass };
const { default: SNTP } = await import("./sntp.js");
const { default: Time } = await import("./time.js");

function runMain(): void {
  import("hosts/esp32/main" as string)
    .then((m: { default: () => void }) => m.default())
    .catch((e: unknown) => {
      trace(`XS abort: unhandled exception ${(e as Error).message}\n`);
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}

if (!config.ssid) {
  trace("No Wi-Fi SSID\n");
  runMain();
} else {
  const w = new WiFi({
    onChanged() {
      const connection = this.connection;
      if (connection < 500) {
        if (connection >= 400) trace(`Wi-Fi connected to "${this.SSID}"\n`);
        else if (connection <= 200) trace("Wi-Fi disconnected\n");
        return;
      }
      trace(`IP address ${this.address}\n`);
      this.close();
      // As setup/network does: with config.sntp set and the clock near 1970, main waits for SNTP
      // (here for the test to answer: hosts/esp32/manifest_app.json sets sntp to "" so it does not).
      if (!config.sntp || Date.now() > 1672722071_000) return runMain();
      new SNTP({ host: String(config.sntp) }, (message: number, value?: unknown) => {
        if (message === SNTP.time) {
          trace(`got unix time ${String(value)} from ${String(config.sntp)}\n`);
          Time.set(Number(value));
        } else if (message === SNTP.error) trace("can't get time\n");
        else return;
        runMain();
      });
    },
  });
  w.connect(config.password ? { SSID: config.ssid, password: config.password, secure: true } : { SSID: config.ssid });
}
