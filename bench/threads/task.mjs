// The task every pool in bench/threads runs: a tiny function, so the figures measure the round trip.
export function add(a, b) {
  return a + b;
}
// piscina calls the default export with one argument.
export default function ({ a, b }) {
  return a + b;
}
