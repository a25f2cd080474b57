/**
 * The Standard Schema interface (https://standardschema.dev, version 1), the part weft reads: a
 * schema object with a `~standard.validate` function. valibot (which weft's own configuration
 * schemas use), zod 3.24+/4, ArkType and others implement it, so a service a user registers can
 * declare its settings with whichever of them it already uses. The spec asks implementers to copy
 * these types rather than depend on a package; this is that copy, trimmed to what weft calls.
 *
 * {@link checkWith} runs a schema and turns its issues into {@link ConfigIssue}s whose `path` is
 * the JSON path (`config.services.poetry.listen[1].endpoint`).
 */
import { ConfigError, type ConfigIssue } from "../errors.js";

/** A Standard Schema (v1) validating `unknown` input into `Output`. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard properties (the key is `~standard` so it sorts after a library's own). */
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

/** The types of the Standard Schema (v1) interface. */
export declare namespace StandardSchemaV1 {
  /** What a schema exposes under `~standard`. */
  interface Props<Input = unknown, Output = Input> {
    /** The version of the Standard Schema interface: 1. */
    readonly version: 1;
    /** The library that implements the schema (`"valibot"`, `"zod"`, …). */
    readonly vendor: string;
    /** Validates `value`: a result, or a Promise of one for an asynchronous schema. */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Carries the input and output types for inference; never set at run time. */
    readonly types?: Types<Input, Output> | undefined;
  }
  /** The outcome of `validate`: the output or the issues. */
  type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A successful validation. */
  interface SuccessResult<Output> {
    /** The validated (possibly transformed) value. */
    readonly value: Output;
    /** Always absent on success. */
    readonly issues?: undefined;
  }
  /** A failed validation. */
  interface FailureResult {
    /** What is wrong, at least one issue. */
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One problem found by a schema. */
  interface Issue {
    /** The human-readable message. */
    readonly message: string;
    /** Where in the value the problem is: keys and indexes from the root. */
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  /** A path segment given as an object. */
  interface PathSegment {
    /** The key or index. */
    readonly key: PropertyKey;
  }
  /** The input and output types of a schema, for inference. */
  interface Types<Input = unknown, Output = Input> {
    /** The type the schema accepts. */
    readonly input: Input;
    /** The type the schema produces. */
    readonly output: Output;
  }
}

/** The output type of a Standard Schema. */
export type SchemaOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

/** Whether `value` looks like a Standard Schema (has a `~standard.validate` function). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== "object" && typeof value !== "function") return false;
  if (value === null) return false;
  const props: unknown = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}

/** `where` followed by one path segment: `.name`, `["odd key"]` or `[3]`. */
export function pathJoin(where: string, key: PropertyKey): string {
  if (typeof key === "number") return `${where}[${key}]`;
  const k = String(key);
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `${where}.${k}` : `${where}[${JSON.stringify(k)}]`;
}

/**
 * Validate `value` with `schema` synchronously. Returns the schema's output, or the issues with
 * their JSON paths below `where`. A schema that validates asynchronously is an issue itself (a
 * configuration is checked before anything starts, in one pass).
 */
export function checkWith<O>(
  schema: StandardSchemaV1<unknown, O>,
  value: unknown,
  where: string,
): { ok: true; value: O } | { ok: false; issues: ConfigIssue[] } {
  let result: StandardSchemaV1.Result<O> | Promise<StandardSchemaV1.Result<O>>;
  try {
    result = schema["~standard"].validate(value);
  } catch (err) {
    return { ok: false, issues: [{ path: where, message: `the schema threw: ${String(err)}` }] };
  }
  if ("then" in result) {
    result.then(undefined, () => undefined); // settled later: nobody waits for it
    return {
      ok: false,
      issues: [{ path: where, message: "the schema validates asynchronously (not supported)" }],
    };
  }
  if (result.issues === undefined) return { ok: true, value: result.value };
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      let path = where;
      for (const seg of issue.path ?? [])
        path = pathJoin(path, typeof seg === "object" ? seg.key : seg);
      return { path, message: issue.message };
    }),
  };
}

/** Throw a ConfigError listing `issues` (the first on the first line, the others below it). */
export function throwIssues(issues: readonly ConfigIssue[]): never {
  throw new ConfigError(
    issues.map((i) => `${i.path}: ${i.message}`).join("\n  "),
    issues.length > 0 ? { issues } : {},
  );
}
