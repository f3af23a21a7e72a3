// Module resolution for the ESP32 simulation (node:module hooks, run in node's loader thread).
//
// The ESP32 host (hosts/esp32/*.ts) imports Moddable SDK modules by their bare names ("timer",
// "embedded:io/serial", ...) and hosts/esp32/main.ts imports "hosts/esp32/host" the way mcconfig
// names modules (tsconfig.esp32.json "paths" does the same for the type check). Here each of those
// names resolves to a file: the SDK names to the simulations in this directory, "hosts/esp32/X" to
// hosts/esp32/X.ts. Everything else goes on to the next resolver (tsx, then node's).

import type { ResolveHookContext, ResolveFnOutput } from "node:module";
import { pathToFileURL } from "node:url";

type NextResolve = (specifier: string, context?: ResolveHookContext) => ResolveFnOutput | Promise<ResolveFnOutput>;

/** Moddable module name -> simulation file in this directory. */
export const SIMULATED_MODULES: Readonly<Record<string, string>> = {
  "mc/config": "mc-config.ts",
  timer: "timer.ts",
  time: "time.ts",
  preference: "preference.ts",
  Resource: "resource.ts",
  file: "file.ts",
  "embedded:io/socket/tcp": "tcp.ts",
  "embedded:io/socket/listener": "listener.ts",
  "embedded:io/serial": "serial.ts",
  "embedded:io/digital": "digital.ts",
  "embedded:network/interface/wifi": "wifi.ts",
  mdns: "mdns.ts",
  sntp: "sntp.ts",
  ota: "ota.ts",
};

const here = new URL("./", import.meta.url);
/** hosts/esp32, or a copy of it (ESP32_SIM_HOST_DIR: e.g. a deliberately broken one, to see that the
 * simulations catch what would fail on a board). */
const hostDir = process.env.ESP32_SIM_HOST_DIR ? pathToFileURL(process.env.ESP32_SIM_HOST_DIR.replace(/\/?$/, "/")) : new URL("../../hosts/esp32/", import.meta.url);

export function mapSpecifier(specifier: string): string | null {
  const sim = SIMULATED_MODULES[specifier];
  if (sim) return new URL(sim, here).href;
  const m = /^hosts\/esp32\/([A-Za-z0-9_-]+)$/.exec(specifier);
  if (m) return new URL(`${m[1]}.ts`, hostDir).href;
  return null;
}

export async function resolve(specifier: string, context: ResolveHookContext, next: NextResolve): Promise<ResolveFnOutput> {
  const url = mapSpecifier(specifier);
  if (url) return { url, shortCircuit: true, format: "module" };
  return next(specifier, context);
}
