// Web Storage, which a private mode or a full disk may refuse: values are JSON, what cannot be read is null, and
// what cannot be written is simply not kept (every page works without it).

function quietly(area) {
  return {
    get(key) {
      try { return JSON.parse(area().getItem(key)); } catch { return null; }
    },
    set(key, value) {
      try { area().setItem(key, JSON.stringify(value)); } catch { /* kept in memory only */ }
    },
    remove(key) {
      try { area().removeItem(key); } catch { /* nothing was kept */ }
    },
  };
}

// This device, for every tab and visit (localStorage).
export const deviceStorage = quietly(() => window.localStorage);

// This tab only, gone when it is closed (sessionStorage).
export const tabStorage = quietly(() => window.sessionStorage);
