// @peculiar/x509 loads tsyringe, which refuses to start without the
// Reflect metadata API (normally the `reflect-metadata` package, which is not
// installed here). tsyringe uses four calls of it; this is those four, on a
// WeakMap, installed only when absent. Import it before @peculiar/x509.
import type * as X509 from '@peculiar/x509';

type Key = string | symbol;
type ReflectWithMetadata = typeof Reflect & {
  getMetadata?: (key: Key, target: object, prop?: Key) => unknown;
  getOwnMetadata?: (key: Key, target: object, prop?: Key) => unknown;
  defineMetadata?: (key: Key, value: unknown, target: object, prop?: Key) => void;
  hasMetadata?: (key: Key, target: object, prop?: Key) => boolean;
};

const R = Reflect as ReflectWithMetadata;
if (typeof R.getMetadata !== 'function') {
  const store = new WeakMap<object, Map<Key | undefined, Map<Key, unknown>>>();
  const own = (target: object, prop: Key | undefined, create: boolean): Map<Key, unknown> | undefined => {
    let byProp = store.get(target);
    if (byProp === undefined) {
      if (!create) return undefined;
      byProp = new Map();
      store.set(target, byProp);
    }
    let m = byProp.get(prop);
    if (m === undefined && create) {
      m = new Map();
      byProp.set(prop, m);
    }
    return m;
  };
  R.defineMetadata = (key, value, target, prop) => void own(target, prop, true)?.set(key, value);
  R.getOwnMetadata = (key, target, prop) => own(target, prop, false)?.get(key);
  R.getMetadata = (key, target, prop) => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const m = own(t, prop, false);
      if (m?.has(key)) return m.get(key);
    }
    return undefined;
  };
  R.hasMetadata = (key, target, prop) => R.getMetadata?.(key, target, prop) !== undefined;
}


/** @peculiar/x509, loaded after this polyfill (for callers that need it without registering). */
export async function loadX509(): Promise<typeof X509> {
  return import('@peculiar/x509');
}
