// The built-ins as the Moddable XS linker leaves them on the board: when a manifest preloads
// anything, xsl freezes every intrinsic (constructors, their prototypes, the functions on them) and
// the image runs with them frozen. boot.ts calls freezeIntrinsics() before it loads the host, so an
// assignment over a property a frozen prototype defines (`this.name = "X"` in an Error subclass,
// the "override mistake") throws "Cannot assign to read only property" here as it throws "set
// name: not writable" on the board. The global object itself stays writable, as in XS.

/** The intrinsics reachable from the global object's standard bindings (ES2025 and what XS has). */
const ROOTS = [
  "Object", "Function", "Array", "Number", "Boolean", "String", "Symbol", "BigInt", "Math", "JSON", "Reflect", "Proxy",
  "Date", "RegExp", "Promise", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry",
  "ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError", "AggregateError",
  "Iterator", "parseInt", "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI",
];

/** Hidden intrinsics: reachable only through instances. */
function hidden(): unknown[] {
  const out: unknown[] = [];
  const proto = Object.getPrototypeOf;
  out.push(proto(Uint8Array)); // %TypedArray%
  out.push(proto([][Symbol.iterator]())); // %ArrayIteratorPrototype%
  out.push(proto(new Map()[Symbol.iterator]()), proto(new Set()[Symbol.iterator]()), proto(""[Symbol.iterator]()));
  out.push(proto(/a/[Symbol.matchAll](""))); // %RegExpStringIteratorPrototype%
  out.push(proto(function* () {}), proto(async function () {}), proto(async function* () {}));
  out.push(proto(function* () {}).constructor, proto(async function () {}).constructor, proto(async function* () {}).constructor);
  return out;
}

export function freezeIntrinsics(): number {
  const seen = new Set<unknown>();
  const stack: unknown[] = [...ROOTS.map((n) => (globalThis as Record<string, unknown>)[n]).filter((v) => v !== undefined), ...hidden()];
  while (stack.length > 0) {
    const v = stack.pop();
    if ((typeof v !== "object" && typeof v !== "function") || v === null || seen.has(v) || v === globalThis) continue;
    seen.add(v);
    stack.push(Object.getPrototypeOf(v));
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      stack.push(d.value, d.get, d.set);
    }
    Object.freeze(v);
  }
  return seen.size;
}
