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
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
  }
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  interface PathSegment {
    readonly key: PropertyKey;
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
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
