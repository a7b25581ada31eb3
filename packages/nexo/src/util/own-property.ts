/**
 * `record[key]` when `key` is one of the record's own properties, else
 * undefined. For keys from outside (a plugin's method, a manifest's name, a
 * code from the wire): "constructor" or "toString" must not find
 * Object.prototype's members (docs/security.md).
 */
export function ownProperty<V>(record: Readonly<Partial<Record<string, V>>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
