/**
 * XML-RPC documents (http://xmlrpc.com/spec.md): `methodCall`, `methodResponse` and faults, read
 * with saxes (a strict, non-validating XML parser: no DTDs, no external entities — a document with
 * a DOCTYPE is refused) and written with escaping. Used by the calculator's XML-RPC front-end and
 * its client; generic enough to move to `src/protocols/` when another service needs it.
 */
import { SaxesParser } from "saxes";
import { WeftError } from "../../core/errors.js";

/** A value XML-RPC carries: int (number, bigint beyond 2^53), double, string, boolean, nil, array, struct. */
export type XmlRpcValue =
  | number
  | bigint
  | XmlRpcDouble
  | string
  | boolean
  | null
  | Uint8Array
  | XmlRpcValue[]
  | Map<string, XmlRpcValue>;

/** A `<double>` (kept apart from `<int>`). */
export class XmlRpcDouble {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/** The standard fault codes (specs.xmlrpc.org "fault code interoperability"). */
export const FAULT_PARSE_ERROR = -32700;
export const FAULT_INVALID_REQUEST = -32600;
export const FAULT_METHOD_NOT_FOUND = -32601;
export const FAULT_INVALID_PARAMS = -32602;
export const FAULT_INTERNAL_ERROR = -32603;

/** A document that is not well-formed XML or not a valid XML-RPC document. */
export class XmlRpcParseError extends WeftError {
  constructor(message: string) {
    super("ERR_XMLRPC_PARSE", message);
  }
}

/** A fault answered by an XML-RPC server. */
export class XmlRpcFault extends WeftError {
  /**
   * The fault's `faultCode` (the error's `message` is its `faultString`): one of the `FAULT_*`
   * codes (e.g. -32602 for bad arguments) or a server's own; 0 when the fault carried none.
   */
  readonly faultCode: number;
  constructor(faultCode: number, faultString: string) {
    super("ERR_XMLRPC_FAULT", faultString);
    this.faultCode = faultCode;
  }
}

/** A parsed `methodCall` or `methodResponse`. */
export interface XmlRpcDocument {
  readonly kind: "methodCall" | "methodResponse";
  readonly methodName: string | null;
  readonly params: XmlRpcValue[];
  /** For a fault response: its `faultCode`/`faultString` struct. */
  readonly fault: XmlRpcValue | undefined;
}

interface Frame {
  readonly tag: string;
  text: string;
  value: XmlRpcValue | undefined;
  items: XmlRpcValue[] | null;
  members: Map<string, XmlRpcValue> | null;
  name: string | null;
}

const SCALARS = new Set([
  "int",
  "i4",
  "i8",
  "biginteger",
  "boolean",
  "string",
  "double",
  "nil",
  "base64",
  "dateTime.iso8601",
]);
const CONTAINERS = new Set([
  "methodCall",
  "methodResponse",
  "methodName",
  "params",
  "param",
  "fault",
  "value",
  "array",
  "data",
  "struct",
  "member",
  "name",
]);
const MAX_DEPTH = 64;

function scalar(tag: string, text: string): XmlRpcValue {
  const t = text.trim();
  switch (tag) {
    case "int":
    case "i4":
    case "i8":
    case "biginteger": {
      if (!/^[+-]?\d{1,4300}$/.test(t)) throw new XmlRpcParseError(`Not an integer: <${tag}>${t}`);
      const big = BigInt(t);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big)
        : big;
    }
    case "boolean":
      if (t !== "0" && t !== "1") throw new XmlRpcParseError(`Not a boolean: ${t}`);
      return t === "1";
    case "double":
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
        throw new XmlRpcParseError(`Not a double: ${t}`);
      }
      return new XmlRpcDouble(Number(t));
    case "nil":
      return null;
    case "base64":
      return new Uint8Array(Buffer.from(t, "base64"));
    default:
      return text;
  }
}

/** Parse one XML-RPC document. Throws {@link XmlRpcParseError}. */
export function parseXmlRpc(xml: string): XmlRpcDocument {
  const parser = new SaxesParser({ position: false });
  const stack: Frame[] = [];
  let kind: XmlRpcDocument["kind"] | null = null;
  let methodName: string | null = null;
  const params: XmlRpcValue[] = [];
  let fault: XmlRpcValue | undefined;
  let error: Error | null = null;
  const failWith = (message: string): void => {
    error ??= new XmlRpcParseError(message);
  };
  parser.on("error", (e) => failWith(e.message));
  parser.on("doctype", () => failWith("A DOCTYPE is not allowed"));
  parser.on("opentag", (tag) => {
    if (error !== null) return;
    const name = tag.name;
    if (!SCALARS.has(name) && !CONTAINERS.has(name)) return failWith(`Unknown element <${name}>`);
    if (stack.length === 0) {
      if (name !== "methodCall" && name !== "methodResponse") {
        return failWith(`Not an XML-RPC document: <${name}>`);
      }
      kind = name;
    }
    if (stack.length >= MAX_DEPTH) return failWith("Document nested too deeply");
    stack.push({
      tag: name,
      text: "",
      value: undefined,
      items: name === "data" ? [] : null,
      members: name === "struct" ? new Map() : null,
      name: null,
    });
  });
  const onText = (t: string): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined && error === null) top.text += t;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", () => {
    if (error !== null) return;
    const f = stack.pop();
    const parent = stack[stack.length - 1];
    if (f === undefined) return;
    try {
      close(f, parent);
    } catch (e) {
      failWith((e as Error).message);
    }
  });
  function close(f: Frame, parent: Frame | undefined): void {
    if (SCALARS.has(f.tag)) {
      if (parent?.tag !== "value") throw new XmlRpcParseError(`<${f.tag}> outside <value>`);
      parent.value = scalar(f.tag, f.text);
      return;
    }
    switch (f.tag) {
      case "value": {
        const v = f.value !== undefined ? f.value : f.text;
        if (parent?.tag === "data") (parent.items as XmlRpcValue[]).push(v);
        else if (parent?.tag === "member" || parent?.tag === "param" || parent?.tag === "fault") {
          parent.value = v;
        } else throw new XmlRpcParseError("<value> in the wrong place");
        return;
      }
      case "data":
        if (parent?.tag !== "array") throw new XmlRpcParseError("<data> outside <array>");
        parent.value = f.items as XmlRpcValue[];
        return;
      case "array":
      case "struct": {
        if (parent?.tag !== "value") throw new XmlRpcParseError(`<${f.tag}> outside <value>`);
        parent.value =
          f.tag === "array" ? (f.value ?? []) : (f.members as Map<string, XmlRpcValue>);
        return;
      }
      case "name":
        if (parent?.tag !== "member") throw new XmlRpcParseError("<name> outside <member>");
        parent.name = f.text;
        return;
      case "member":
        if (parent?.tag !== "struct" || f.name === null || f.value === undefined) {
          throw new XmlRpcParseError("A <member> needs a <name> and a <value>");
        }
        (parent.members as Map<string, XmlRpcValue>).set(f.name, f.value);
        return;
      case "param":
        if (f.value === undefined) throw new XmlRpcParseError("A <param> needs a <value>");
        params.push(f.value);
        return;
      case "methodName":
        methodName = f.text.trim();
        return;
      case "fault":
        fault = f.value;
        return;
      default:
        return;
    }
  }
  try {
    parser.write(xml).close();
  } catch (e) {
    failWith((e as Error).message);
  }
  if (error !== null) throw error;
  if (kind === null) throw new XmlRpcParseError("Empty document");
  if (kind === "methodCall" && (methodName === null || methodName === "")) {
    throw new XmlRpcParseError("A methodCall needs a methodName");
  }
  return { kind, methodName, params, fault };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

/** The `<value>` element for `v`. */
export function xmlValue(v: XmlRpcValue): string {
  if (typeof v === "number" || typeof v === "bigint") {
    if (typeof v === "number" && !Number.isInteger(v))
      return `<value><double>${v}</double></value>`;
    const big = BigInt(v);
    if (big >= -(2n ** 31n) && big < 2n ** 31n) return `<value><int>${big}</int></value>`;
    if (big >= -(2n ** 63n) && big < 2n ** 63n) return `<value><i8>${big}</i8></value>`;
    return `<value><biginteger>${big}</biginteger></value>`;
  }
  if (typeof v === "string") return `<value><string>${escapeXml(v)}</string></value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (v === null) return "<value><nil/></value>";
  if (v instanceof XmlRpcDouble) return `<value><double>${v.value}</double></value>`;
  if (v instanceof Uint8Array) {
    return `<value><base64>${Buffer.from(v).toString("base64")}</base64></value>`;
  }
  if (Array.isArray(v))
    return `<value><array><data>${v.map(xmlValue).join("")}</data></array></value>`;
  let out = "<value><struct>";
  for (const [k, x] of v) out += `<member><name>${escapeXml(k)}</name>${xmlValue(x)}</member>`;
  return `${out}</struct></value>`;
}

const DECL = '<?xml version="1.0"?>\n';

/** A `methodCall` document. */
export function methodCall(name: string, params: readonly XmlRpcValue[]): string {
  const ps = params.map((p) => `<param>${xmlValue(p)}</param>`).join("");
  return `${DECL}<methodCall><methodName>${escapeXml(name)}</methodName><params>${ps}</params></methodCall>\n`;
}

/** A successful `methodResponse`. */
export function methodResponse(value: XmlRpcValue): string {
  return `${DECL}<methodResponse><params><param>${xmlValue(value)}</param></params></methodResponse>\n`;
}

/** A fault `methodResponse`. */
export function faultResponse(code: number, message: string): string {
  const struct = new Map<string, XmlRpcValue>([
    ["faultCode", code],
    ["faultString", message],
  ]);
  return `${DECL}<methodResponse><fault>${xmlValue(struct)}</fault></methodResponse>\n`;
}

/** The fault of a parsed fault response, as an error. */
export function faultOf(fault: XmlRpcValue): XmlRpcFault {
  if (fault instanceof Map) {
    const code = fault.get("faultCode");
    const text = fault.get("faultString");
    return new XmlRpcFault(
      typeof code === "number" ? code : 0,
      typeof text === "string" ? text : "",
    );
  }
  return new XmlRpcFault(0, String(fault));
}
