/**
 * The one error type: a code from one union, a message naming what was wrong, and what
 * an edge needs to answer it (`issues` for a 400, `result` for a tool answer). Raised
 * anywhere, mapped once at each edge: an HTTP status here (`status`, `toBody`), a tool
 * result in the tool runner, an `error` frame in each codec, a close code in each
 * transport. Expected refusals that are normal answers (a slot that is not free) are
 * values, not errors.
 */

/** Codes of PROTOCOL §4's tool errors. */
export const toolErrorCodes = ['INVALID_ARGUMENT', 'UNKNOWN_TOOL', 'UNKNOWN_SERVICE', 'UNKNOWN_STAFF', 'SLOT_TAKEN', 'NO_HOLD', 'NOT_FOUND', 'UNAVAILABLE'] as const;
export type ToolErrorCode = (typeof toolErrorCodes)[number];

/** Codes of PROTOCOL §3's `error` frame; `UNAVAILABLE` (storage down at `session.start`) is our addition to the contract. */
export type FrameErrorCode = 'BAD_MESSAGE' | 'UNKNOWN_TYPE' | 'NOT_STARTED' | 'RATE_LIMITED' | 'UNAVAILABLE';

export type BrokerErrorCode =
  | ToolErrorCode
  | FrameErrorCode
  | 'UNAUTHORIZED'
  | 'INVALID_CATALOG'
  | 'INVALID_REQUEST'
  | 'INVALID_CONFIG'
  /** Another broker instance took the session over (PROTOCOL §3): this one must not write for it. */
  | 'TAKEN_OVER'
  | 'INTERNAL';

const httpStatus: Record<BrokerErrorCode, number> = {
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  INVALID_CATALOG: 400,
  INVALID_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  BAD_MESSAGE: 400,
  UNKNOWN_TYPE: 400,
  UNKNOWN_TOOL: 404,
  UNKNOWN_SERVICE: 400,
  UNKNOWN_STAFF: 400,
  NOT_STARTED: 409,
  SLOT_TAKEN: 409,
  NO_HOLD: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INVALID_CONFIG: 500,
  TAKEN_OVER: 409,
  INTERNAL: 500,
};

export interface BrokerErrorOptions {
  retryable?: boolean;
  /** One line per bad field, for a 400. */
  issues?: string[];
  /** What a tool answer carries beside the error (its spoken message, alternatives). */
  result?: Record<string, unknown>;
  cause?: unknown;
}

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    readonly options: BrokerErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
  }

  get status(): number {
    return httpStatus[this.code];
  }

  get retryable(): boolean {
    return this.options.retryable ?? this.code === 'UNAVAILABLE';
  }

  toBody() {
    return { error: { code: this.code, message: this.message, ...(this.options.issues ? { issues: this.options.issues } : {}) } };
  }
}

export const isTakenOver = (error: unknown): boolean => error instanceof BrokerError && error.code === 'TAKEN_OVER';

export const isToolError = (error: unknown): error is BrokerError & { code: ToolErrorCode } =>
  error instanceof BrokerError && (toolErrorCodes as readonly string[]).includes(error.code);
