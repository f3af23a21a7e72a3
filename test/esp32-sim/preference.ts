// Moddable's "preference" module over ESP32 NVS (modules/files/preference/esp32/modPreference.c):
// domains (NVS namespaces) and keys of at most 15 characters, values boolean (u8), integer (i32),
// string or ArrayBuffer (blob), at most 4000 bytes (hosts/esp32/types/moddable.d.ts). Every set is
// committed: the store lives in the state directory (nvs.json) and survives a reboot, like the NVS
// partition; `idf.py erase-flash` is deleting that file.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settings } from "./board.js";

/** NVS_KEY_NAME_MAX_SIZE - 1. */
const NAME_MAX = 15;
/** Longest value: NVS strings take 4000 bytes with their NUL; blobs are held to the same here. */
const VALUE_MAX = 4000;

type Stored = { type: "u8"; value: boolean } | { type: "i32"; value: number } | { type: "str"; value: string } | { type: "blob"; value: string };

const file = join(settings.stateDir, "nvs.json");
const store: Record<string, Record<string, Stored>> = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, Stored>>) : {};

function commit(): void {
  writeFileSync(file + ".tmp", JSON.stringify(store));
  renameSync(file + ".tmp", file);
}

/** xsmcToStringBuffer into a 64-byte buffer. */
function keyBuffer(key: unknown): string {
  const s = String(key);
  if (Buffer.byteLength(s) + 1 > 64) throw new RangeError("cannot buffer string");
  return s;
}

const Preference = {
  set(domain: string, key: string, value: unknown): void {
    const ns = String(domain);
    if (Buffer.byteLength(ns) > NAME_MAX || ns.length === 0) throw new Error("nvs_open fail");
    const k = keyBuffer(key);
    let stored: Stored;
    if (typeof value === "boolean") stored = { type: "u8", value };
    else if (typeof value === "number") {
      if (value !== Math.trunc(value)) throw new Error("float unsupported");
      stored = { type: "i32", value: value | 0 };
    } else if (typeof value === "string") {
      if (Buffer.byteLength(value) + 1 > VALUE_MAX) throw new Error("nvs set fail");
      stored = { type: "str", value };
    } else if (value instanceof ArrayBuffer) {
      if (value.byteLength > VALUE_MAX) throw new Error("nvs set fail");
      stored = { type: "blob", value: Buffer.from(value).toString("base64") };
    } else throw new Error("unsupported type");
    if (Buffer.byteLength(k) > NAME_MAX || k.length === 0) throw new Error("nvs set fail");
    (store[ns] ??= {})[k] = stored;
    commit();
  },

  get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined {
    const k = keyBuffer(key);
    const ns = String(domain);
    if (Buffer.byteLength(ns) > NAME_MAX || !store[ns]) return undefined; // nvs_open failed: no such domain
    if (Buffer.byteLength(k) > NAME_MAX || k.length === 0) throw new Error("nvs get fail");
    const s = store[ns][k];
    if (!s) return undefined;
    if (s.type === "blob") {
      const b = Buffer.from(s.value, "base64");
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    }
    return s.value;
  },

  delete(domain: string, key: string): void {
    const ns = keyBuffer(domain);
    const k = keyBuffer(key);
    if (Buffer.byteLength(ns) > NAME_MAX || !store[ns]) return;
    if (Buffer.byteLength(k) > NAME_MAX) throw new Error("nvs erase fail");
    delete store[ns][k];
    commit();
  },

  keys(domain: string): string[] {
    return Object.keys(store[String(domain)] ?? {});
  },
};

Object.freeze(Preference);
export default Preference;
