// Argument checks shared by every provider, so they all reject the same inputs with the same errors.
// Kept apart from noble.ts so that providers which do not use noble (native.ts) do not pull it in.

/** chacha20's arguments (see CryptoProvider.chacha20); throws RangeError. */
export function checkChachaArgs(key: Uint8Array, nonce: Uint8Array, counter: number, input: Uint8Array, output: Uint8Array): void {
  if (key.length !== 32) throw new RangeError('chacha20: key must be 32 bytes');
  if (nonce.length !== 8) throw new RangeError('chacha20: nonce must be 8 bytes');
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff) throw new RangeError('chacha20: counter out of range');
  if (output.length < input.length) throw new RangeError('chacha20: output shorter than input');
}
