// The one indirection between the SDK and the gateway's capabilities.
//
// Every host call of the SDK goes through the object installed here. In a component,
// `wasm-host.js` installs the WIT imports (`articdbm:policy/*@0.1.2`); in Node tests,
// `articdbm-policy/testing` installs an in-memory `TestHost`. Both speak the same "raw" shape:
// WIT names in camelCase, 64-bit integers as bigint, errors thrown with a `payload` holding the
// WIT error variant ({ tag, val }), exactly as componentize-js hands them over.

let current = null;

/** Installs `host` as the target of every SDK host call; returns the previous one. */
export function setHost(host) {
  const previous = current;
  current = host;
  return previous;
}

/** The installed host. Throws when none is: outside a component, install a test host first. */
export function getHost() {
  if (current === null) {
    throw new Error(
      'articdbm-policy: no host installed. Inside the gateway the build installs it; ' +
        "in Node tests call install() from 'articdbm-policy/testing' first.",
    );
  }
  return current;
}
