/**
 * The error hierarchy. Every error Tributary raises on purpose is a TributaryError with a stable
 * `TRB_*` code (listed in README "Error codes"; a test keeps the two in step) and a `retriable`
 * flag that callers branch on: retriable errors pause and retry (broker or registry down),
 * the others are routed (dead letter, one-line CLI error). Branch on `instanceof` or `code`,
 * never on message text.
 */

export const ERROR_CODES = {
  TRB_CONFIG: 'configuration or environment variable is invalid',
  TRB_STACK_NOT_RUNNING: 'no Kafka/registry/Redis configured and no local stack recorded',
  TRB_STACK_START_FAILED: 'a part of the local stack did not start or become ready',
  TRB_JAVA_MISSING: 'Java 17+ is needed to run the local Kafka broker',
  TRB_MAVEN_MISSING: 'Maven is needed to fetch the Kafka jars',
  TRB_TOPOLOGY_INVALID: 'topology.yaml does not validate',
  TRB_TOPOLOGY_DESTRUCTIVE: 'applying the topology would need a destructive change',
  TRB_UNKNOWN_TOPIC: 'the topic is not in the topology or the catalogue',
  TRB_KAFKA_UNAVAILABLE: 'the Kafka brokers cannot be reached',
  TRB_REGISTRY: 'the schema registry answered with an error',
  TRB_REGISTRY_UNAVAILABLE: 'the schema registry cannot be reached',
  TRB_DECODE: 'a record value is not Confluent-framed Avro',
  TRB_UNKNOWN_SCHEMA: 'a record names a schema id the registry does not have',
  TRB_VALIDATION: 'a value does not satisfy its schema or the catalogue rules',
  TRB_PROCESSING: 'a processor threw while handling a record',
  TRB_SINK_REJECTED: 'a receiver refused a command (400/422)',
  TRB_SINK_UNAVAILABLE: 'a receiver is unavailable (429/5xx/timeout)',
  TRB_USAGE: 'the command line is not valid',
  TRB_REDIS_UNAVAILABLE: 'Redis cannot be reached or is not ready (loading, busy, out of memory)',
  TRB_STATE_INVALID: 'Redis refused a state command or holds state that cannot be read (wrong key type, script error, bad JSON)',
  TRB_STATE_UNAVAILABLE: 'the derived state is being rebuilt or caught up and is not served yet',
  TRB_UNAUTHORIZED: 'the API needs `Authorization: Bearer <API_TOKEN>`',
  TRB_NOT_FOUND: 'no such route, SKU, SKU at warehouse, order, consumer group or registry subject (version)',
  TRB_INTERNAL: 'the API failed unexpectedly (see its log)',
  TRB_GROUP_ACTIVE: 'the consumer group has live members; stop them before resetting or rebuilding',
  TRB_SCHEMA_INCOMPATIBLE: 'a local schema is not compatible with the versions the registry holds',
  TRB_OUTPUT_REFUSED: 'the broker refused a processor output for good (too large, invalid): its partition stops until fixed',
  TRB_RECORD_TOO_LARGE: "an event to publish is over its topic's `max.message.bytes`: nothing of that batch was written",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export class ConfigError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super('TRB_CONFIG', message, { cause });
  }
}

export class UsageError extends TributaryError {
  constructor(message: string) {
    super('TRB_USAGE', message);
  }
}

export class StackError extends TributaryError {}

/** One problem found in a file, at a place a user can jump to. */
export interface SourceProblem {
  message: string;
  path?: string;
  line?: number;
  column?: number;
}

export class TopologyError extends TributaryError {
  readonly problems: SourceProblem[];
  readonly file: string;

  constructor(file: string, problems: SourceProblem[]) {
    const first = problems[0];
    const where = first?.line ? `${file}:${first.line}:${first.column ?? 1}` : file;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super('TRB_TOPOLOGY_INVALID', `${where}: ${first?.message ?? 'invalid topology'}${more}`);
    this.file = file;
    this.problems = problems;
  }
}

export class RegistryError extends TributaryError {
  readonly status: number;
  readonly errorCode: number | undefined;

  constructor(message: string, status: number, errorCode?: number, cause?: unknown) {
    super(status >= 500 || status === 0 ? 'TRB_REGISTRY_UNAVAILABLE' : 'TRB_REGISTRY', message, {
      retriable: status >= 500 || status === 0,
      cause,
    });
    this.status = status;
    this.errorCode = errorCode;
  }
}

export class DecodeError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super('TRB_DECODE', message, { cause });
  }
}

export class UnknownSchemaError extends TributaryError {
  readonly schemaId: number;

  constructor(schemaId: number) {
    super('TRB_UNKNOWN_SCHEMA', `schema id ${schemaId} is not in the registry`);
    this.schemaId = schemaId;
  }
}

/** One field-level problem, as SPEC §6 and the publish command report them. */
export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

export class ValidationError extends TributaryError {
  readonly problems: FieldProblem[];

  constructor(problems: FieldProblem[], context?: string) {
    const first = problems[0];
    const prefix = context ? `${context}: ` : '';
    super('TRB_VALIDATION', `${prefix}${first ? `${first.path}: ${first.message}` : 'invalid value'}`);
    this.problems = problems;
  }
}

export class UnknownTopicError extends TributaryError {
  constructor(topic: string, known: readonly string[]) {
    super('TRB_UNKNOWN_TOPIC', `unknown topic "${topic}"; known topics: ${known.join(', ')}`);
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof TributaryError && error.retriable;
}
