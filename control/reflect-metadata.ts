// @peculiar/x509 depends on tsyringe, which refuses to load without the
// `reflect-metadata` polyfill (not installed here). tsyringe only needs the
// metadata functions to exist for the classes x509 registers; this is that
// minimal subset (define/get/getOwn/has and the decorator form), imported
// before @peculiar/x509 so it is in place when tsyringe loads.
type Target = object;
const store = new WeakMap<Target, Map<string, unknown>>();
const slot = (key: unknown, prop: unknown): string => `${String(prop)}|${String(key)}`;

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  const getOwn = (key: unknown, target: Target, prop?: unknown): unknown => store.get(target)?.get(slot(key, prop));
  const get = (key: unknown, target: Target, prop?: unknown): unknown => {
    for (let o: Target | null = target; o !== null; o = Object.getPrototypeOf(o) as Target | null) {
      const v = getOwn(key, o, prop);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const define = (key: unknown, value: unknown, target: Target, prop?: unknown): void => {
    let m = store.get(target);
    if (!m) {
      m = new Map();
      store.set(target, m);
    }
    m.set(slot(key, prop), value);
  };
  Object.assign(R, {
    defineMetadata: define,
    getOwnMetadata: getOwn,
    getMetadata: get,
    hasMetadata: (key: unknown, target: Target, prop?: unknown) => get(key, target, prop) !== undefined,
    hasOwnMetadata: (key: unknown, target: Target, prop?: unknown) => getOwn(key, target, prop) !== undefined,
    metadata: (key: unknown, value: unknown) => (target: Target, prop?: unknown) => define(key, value, target, prop),
  });
}
export {};
