// Linux-only stand-in for the SDK's "preference" module (the ESP32's is NVS, esp32/modPreference.c).
//
// Why not the SDK's own Linux one ($(MODDABLE)/modules/files/preference/lin/preference.js): it reads
// its file (config.file.root + "modpreferences.json") once, in its module body, into a static cache.
// The firmware preloads hosts/esp32/keystore, which imports "preference", so the XS linker runs that
// body at build time, when no file exists: at run time the module starts from an empty cache and never
// reads the file back. Whatever was stored before the process started (the host keys of the last run,
// the added keys) is never seen, and each start makes new host keys. It also swallows write errors.
//
// This one keeps no state at all (preload-safe: nothing mutable is made at module load): every call
// reads the file, every change writes the whole file to a temporary beside it and renames it over
// (rename(2) is atomic, as an NVS commit is). The file format is the SDK's (domain -> key -> value,
// an ArrayBuffer as {buffer: "<byte>,<byte>,..."}), so either module reads what the other wrote.
// The API and limits are the board's: values are booleans, 32-bit integers, strings or ArrayBuffers
// (another type, a typed array or a fractional number throws, as the ESP32's does); get of a
// missing key or domain gives undefined, keys of a missing domain []; NVS limits names (domain and
// key) to 15 characters and strings to 4000 bytes with their NUL, so this throws beyond them too,
// and what the board would refuse is refused here.

import { File } from "file";
import config from "mc/config";

const PATH = config.file.root + "modpreferences.json";
const TEMP = PATH + ".tmp";
/** NVS_KEY_NAME_MAX_SIZE (16) less the NUL: the longest namespace and key NVS takes. */
const NAME_MAX = 15;
/** NVS: "String values are currently limited to 4000 bytes. This includes the null terminator." */
const STRING_MAX = 4000;

function checkName(what, name) {
	if (typeof name !== "string" || name.length === 0 || name.length > NAME_MAX)
		throw new RangeError(`preference: ${what} must be 1 to ${NAME_MAX} characters (NVS)`);
}

function utf8Length(s) {
	let n = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c < 0x80) n += 1;
		else if (c < 0x800) n += 2;
		else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			n += 4;
			i++;
		}
		else n += 3;
	}
	return n;
}

/** The stored value as JSON holds it (throws for what NVS cannot keep). */
function encode(value) {
	switch (typeof value) {
		case "boolean":
			return value;
		case "number":
			if (value !== (value | 0))
				throw new RangeError("preference: float unsupported (NVS keeps 32-bit integers)");
			return value;
		case "string":
			if (utf8Length(value) + 1 > STRING_MAX)
				throw new RangeError(`preference: string over ${STRING_MAX - 1} bytes (NVS)`);
			return value;
		default:
			if (value instanceof ArrayBuffer)
				return { buffer: new Uint8Array(value).join(",") };
			throw new TypeError("preference: unsupported type (boolean, integer, string or ArrayBuffer)");
	}
}

function decode(stored) {
	if (stored !== null && typeof stored === "object") {
		const text = stored.buffer;
		if (typeof text !== "string")
			throw new Error(`preference: ${PATH}: a value that is neither a primitive nor a buffer`);
		return text === "" ? new ArrayBuffer(0) : Uint8Array.from(text.split(","), Number).buffer;
	}
	return stored;
}

/** The whole file as an object; {} when there is no file. A file that does not parse throws: treating
 * it as empty would make the next set() write away every other value (the host keys among them). */
function load() {
	if (!File.exists(PATH))
		return {};
	const file = new File(PATH);
	try {
		const text = file.length > 0 ? file.read(String) : "";
		if (text === "")
			return {};
		const all = JSON.parse(text);
		if (all === null || typeof all !== "object" || Array.isArray(all))
			throw new Error("not an object");
		return all;
	}
	catch (e) {
		throw new Error(`preference: ${PATH} unreadable (${e.message})`);
	}
	finally {
		file.close();
	}
}

function save(all) {
	// The SDK's Linux File opens an existing file for writing without truncating it: start afresh.
	if (File.exists(TEMP))
		File.delete(TEMP);
	const file = new File(TEMP, true);
	try {
		file.write(JSON.stringify(all));
	}
	finally {
		file.close();
	}
	if (!File.rename(TEMP, PATH))
		throw new Error(`preference: could not rename ${TEMP} to ${PATH}`);
}

export default class Preference {
	static set(domain, key, value) {
		checkName("domain", domain);
		checkName("key", key);
		const stored = encode(value);
		const all = load();
		const entries = Object.hasOwn(all, domain) ? all[domain] : (all[domain] = {});
		entries[key] = stored;
		save(all);
	}
	static get(domain, key) {
		checkName("key", key);
		const all = load();
		if (!Object.hasOwn(all, domain) || !Object.hasOwn(all[domain], key))
			return undefined;
		return decode(all[domain][key]);
	}
	static delete(domain, key) {
		checkName("key", key);
		const all = load();
		if (!Object.hasOwn(all, domain) || !Object.hasOwn(all[domain], key))
			return;
		delete all[domain][key];
		if (Object.keys(all[domain]).length === 0)
			delete all[domain];
		save(all);
	}
	static keys(domain) {
		const all = load();
		return Object.hasOwn(all, domain) ? Object.keys(all[domain]) : [];
	}
}
Object.freeze(Preference.prototype);
Object.freeze(Preference);
