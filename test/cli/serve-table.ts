/** The table `weft serve` prints on start, read back by the CLI tests. */

/** Ports by `service/protocol`, in table order. */
export type ServePorts = Map<string, number[]>;

/**
 * Reads `table` (the `SERVICE PROTOCOL ADDRESS` header, then one row per front-end bound on
 * 127.0.0.1) into `ports`; throws on a header or an address it does not expect.
 */
export function readServeTable(table: string, ports: ServePorts): void {
  const rows = table.trim().split("\n");
  if (!/^SERVICE\s+PROTOCOL\s+ADDRESS$/.test(rows[0] ?? ""))
    throw new Error(`unexpected table header ${JSON.stringify(rows[0])}`);
  for (const row of rows.slice(1)) {
    const [service, protocol, address] = row.trim().split(/\s+/);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(address ?? "");
    if (m === null) throw new Error(`unexpected table row ${JSON.stringify(row)}`);
    const key = `${service}/${protocol}`;
    ports.set(key, [...(ports.get(key) ?? []), Number(m[1])]);
  }
}

/** The `i`th port of `key` in `ports`; throws when the table had none. */
export function portIn(ports: ServePorts, key: string, i = 0): number {
  const p = ports.get(key)?.[i];
  if (p === undefined) throw new Error(`no ${key} #${i} in the table`);
  return p;
}
