// Moddable's "Resource" (modules/files/resource/Resource.c): read-only data built into the image
// (manifest "data"), here the files of the resources directory (certs/ unless the test gives its
// own), read once as the image is "flashed" (at first use). new Resource(path) throws URIError
// "Resource not found: PATH"; slice(begin[, end]) copies into a new ArrayBuffer.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { settings } from "./board.js";

const image = new Map<string, Uint8Array>();

function lookup(path: string): Uint8Array | undefined {
  const cached = image.get(path);
  if (cached) return cached;
  if (path.includes("/") || path === "" || path.startsWith(".")) return undefined;
  const file = join(settings.resourcesDir, path);
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  const data = new Uint8Array(readFileSync(file));
  image.set(path, data);
  return data;
}

export default class Resource {
  readonly #data: Uint8Array;

  constructor(path: string) {
    const p = String(path);
    const data = lookup(p);
    if (!data) throw new URIError(`Resource not found: ${p}`);
    this.#data = data;
  }

  static exists(path: string): boolean {
    return lookup(String(path)) !== undefined;
  }

  get byteLength(): number {
    return this.#data.length;
  }

  slice(...args: number[]): ArrayBuffer {
    const length = this.#data.length;
    let start = 0;
    let end = length;
    if (args.length > 0) {
      start = Math.trunc(Number(args[0])) || 0;
      if (start < 0) start = 0;
      if (args.length > 1) {
        end = Math.trunc(Number(args[1])) || 0;
        if (end < start) end = start;
        else if (end > length) end = length;
      }
    }
    // Resource.c does not bound `start` by the length (it reads past the resource); refuse that here.
    if (start > length) throw new RangeError("sim: Resource.slice begins past the end (reads outside the resource on a board)");
    return this.#data.slice(start, end).buffer as ArrayBuffer;
  }
}
