// "mc/config": what mcconfig compiles into the image's config: the "config" objects of every manifest
// the build includes (the SDK's manifest_net.json: sntp; the file module's manifest: file.root, "/mod/"
// for SPIFFS on esp32, "/" for LittleFS; hosts/esp32/manifest_app.json; the root manifest: fs), then
// the `name=value` arguments of the mcconfig command line, which arrive as strings (the test gives
// them in ESP32_SIM_CONFIG, e.g. ssid, password, ssh_port).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, settings } from "./board.js";

interface Manifest {
  config?: Record<string, unknown>;
}

function manifestConfig(path: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(REPO, path), "utf8")) as Manifest).config ?? {};
}

const littlefs = settings.manifest === "manifest_littlefs.json";

const config: { file: { root: string } } & Record<string, unknown> = {
  sntp: "pool.ntp.org",
  file: { root: littlefs ? "/" : "/mod/" },
  ...manifestConfig("hosts/esp32/manifest_app.json"),
  ...manifestConfig(settings.manifest),
  ...settings.configOverrides,
};

export default config;
